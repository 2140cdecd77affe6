// Small in-process push (issue #10): `publishSource` of a 100-file / 200 KB source after a one-file edit, the
// build-to-pushed part of every save, interleaved with the same push by BENCH_BASELINE_CLI's build (its dist/
// next to that cli/main.js) when given. Target: <= 30 ms median for this build.
import { appendFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { figure } from './figures.mjs';
import { median, resolvedSource, writeSource } from './fixtures.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 7) * 2;
const TARGET_MS = 30;

const load = async (dist) => {
  const at = (path) => pathToFileURL(join(dist, path)).href;
  const { publishSource } = await import(at('publish/publish-source.js'));
  const { createRegistryClient } = await import(at('registry/client/client.js'));
  const { systemClock } = await import(at('clock.js'));
  const { createSilentLogger } = await import(at('logger.js'));
  return { publishSource, createRegistryClient, systemClock, createSilentLogger };
};

export const benchPushSmall = async ({ work, port }) => {
  const baseline = process.env.BENCH_BASELINE_CLI;
  const builds = {
    new: new URL('../dist/', import.meta.url).pathname,
    ...(baseline ? { today: dirname(dirname(baseline)) } : {}),
  };
  console.log(
    `\n== push, small (issue #10): in-process publishSource, 100 files / 200 KB, one-file edit each run, ${RUNS} runs` +
      `${baseline ? ', interleaved with the baseline build' : ''} ==`,
  );
  const cases = [];
  for (const [cli, dist] of Object.entries(builds)) {
    const lib = await load(dist);
    const dir = join(work, `push-small-${cli}`);
    await writeSource(dir, 100, 200 * 1024, 100);
    const source = resolvedSource(`small-${cli}`, dir, `bench/push-small-${cli}`);
    const client = lib.createRegistryClient({ endpoint: `localhost:${port}`, clock: lib.systemClock });
    const publish = () =>
      lib.publishSource({ source, client, clock: lib.systemClock, logger: lib.createSilentLogger() });
    await publish();
    cases.push({ cli, dir, publish, times: [] });
  }
  for (let i = 0; i < RUNS; i++) {
    for (const c of cases) {
      await appendFile(join(c.dir, 'group-000', 'cm-0.yaml'), `  run-${i}: "${Date.now()}"\n`);
      const started = performance.now();
      const result = await c.publish();
      c.times.push(performance.now() - started);
      if (result.outcome !== 'pushed') throw new Error(`expected a push, got ${result.outcome}`);
    }
  }
  const parts = cases.map((c) => {
    const value = median(c.times);
    const met = value <= TARGET_MS;
    figure('push-small', `push 100 files / 200 KB in-process (${c.cli})`, value, 'ms', {
      ...(c.cli === 'new' ? { target: `<= ${TARGET_MS} ms`, met } : {}),
    });
    return `${c.cli} median ${value.toFixed(1)} ms${c.cli === 'new' ? ` (target <= ${TARGET_MS} ms: ${met ? 'met' : 'MISSED'})` : ''}`;
  });
  console.log(`push 100 files / 200 KB: ${parts.join(' | ')}`);
};
