// Versions benchmark (issue #3, SC-008): `versions` and the next push on a repository with 50 versions stay as
// fast as on one with a single version.
import { spawnSync } from 'node:child_process';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSource, median, resolvedSource } from './fixtures.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
// A CLI process costs about a second of start-up here; fewer runs keep the bench short.
const CLI_RUNS = Math.min(RUNS, 5);
const MANY = 50;
const VERSIONS_TARGET_MS = 200;
const PUSH_RATIO_TARGET = 1.5;
const MAIN = new URL('../dist/cli/main.js', import.meta.url).pathname;

const load = async () => {
  const { publishSource } = await import('../dist/publish/publish-source.js');
  const { createRegistryClient } = await import('../dist/registry/client/client.js');
  const { listVersions } = await import('../dist/registry/versions.js');
  const { systemClock } = await import('../dist/clock.js');
  const { createSilentLogger } = await import('../dist/logger.js');
  return { publishSource, createRegistryClient, listVersions, systemClock, createSilentLogger };
};

const source = (name, dir) => resolvedSource(name, dir, `bench/versions-${name}`);

const timeProcess = (args, cwd) => {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, HOME: cwd },
  });
  const elapsed = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { elapsed, stdout: result.stdout };
};

const verdict = (ok) => (ok ? 'target met' : 'target MISSED');

export const benchVersions = async ({ work, port }) => {
  const lib = await load();
  const client = lib.createRegistryClient({ endpoint: `localhost:${port}`, clock: lib.systemClock });
  const logger = lib.createSilentLogger();
  const publish = (src) => lib.publishSource({ source: src, client, clock: lib.systemClock, logger });
  console.log(
    `\n== versions (issue #3, SC-008), ${MANY} versions vs 1, ${RUNS} runs each (median) ==\n` +
      `targets: versions (in-process) < ${VERSIONS_TARGET_MS} ms with ${MANY} versions; ` +
      `next push with ${MANY} versions <= ${PUSH_RATIO_TARGET}x the 1-version case`,
  );
  const cases = [
    { name: 'one', versions: 1 },
    { name: 'many', versions: MANY },
  ];
  const sources = [];
  for (const c of cases) {
    const dir = join(work, `versions-${c.name}`);
    await writeSource(dir, 100, 200 * 1024, 7);
    const src = source(c.name, dir);
    for (let i = 0; i < c.versions; i++) {
      if (i > 0) await appendFile(join(dir, 'group-000', 'cm-0.yaml'), `  seed-${i}: "${i}"\n`);
      const result = await publish(src);
      if (result.outcome !== 'pushed') throw new Error(`seeding ${src.repository}: got ${result.outcome}`);
    }
    const count = (await lib.listVersions(client, src.repository)).length;
    if (count !== c.versions)
      throw new Error(`${src.repository} has ${count} versions, expected ${c.versions}`);
    sources.push(src);
  }
  const config = join(work, 'versions.yaml');
  await writeFile(
    config,
    [
      'project: bench',
      'gitOpsEngine: Kubectl',
      'registryEnabled: false',
      `registryPort: ${port}`,
      'log: {level: error}',
      'sources:',
      ...sources.map((s) => `  - {name: ${s.name}, path: ${s.absolutePath}, repository: ${s.repository}}`),
      '',
    ].join('\n'),
  );

  // Interleaved (one, many, one, many...) so that load from anything else on the machine hits both cases alike.
  const samples = Object.fromEntries(sources.map((src) => [src.name, { inProcess: [], cli: [], push: [] }]));
  for (let i = 0; i < RUNS; i++) {
    for (const src of sources) {
      const sample = samples[src.name];
      let started = performance.now();
      const listed = await lib.listVersions(client, src.repository);
      sample.inProcess.push(performance.now() - started);
      if (listed.length === 0) throw new Error(`no versions listed for ${src.repository}`);
      // The next push; its version is deleted again so that every run sees the same number of versions.
      await appendFile(join(src.absolutePath, 'group-000', 'cm-0.yaml'), `  run-${i}: "${Date.now()}"\n`);
      started = performance.now();
      const result = await publish(src);
      sample.push.push(performance.now() - started);
      if (result.outcome !== 'pushed' || !result.manifestDigest)
        throw new Error(`expected a push, got ${result.outcome}`);
      await client.deleteManifest(src.repository, result.manifestDigest);
    }
  }
  const nodeRuns = [];
  const versionRuns = [];
  for (let i = 0; i < CLI_RUNS; i++) {
    nodeRuns.push(timeProcess(['-e', ''], work).elapsed);
    versionRuns.push(timeProcess([MAIN, '--version'], work).elapsed);
    for (const src of sources) {
      samples[src.name].cli.push(timeProcess([MAIN, 'versions', src.name, '--config', config], work).elapsed);
    }
  }
  const results = Object.fromEntries(
    Object.entries(samples).map(([name, sample]) => [
      name,
      { inProcess: median(sample.inProcess), cli: median(sample.cli), push: median(sample.push) },
    ]),
  );
  const nodeStart = median(nodeRuns);
  const cliStart = median(versionRuns);
  const one = results.one;
  const many = results.many;
  const row = (label, key, ms) =>
    `${label.padEnd(30)} 1 version ${one[key].toFixed(1).padStart(7)} ms | ${MANY} versions ${many[key]
      .toFixed(1)
      .padStart(7)} ms | ratio ${(many[key] / one[key]).toFixed(2)}${ms ?? ''}`;
  console.log(
    row(
      'versions (in-process)',
      'inProcess',
      ` | < ${VERSIONS_TARGET_MS} ms: ${verdict(many.inProcess < VERSIONS_TARGET_MS)}`,
    ),
  );
  console.log(
    row('versions (CLI process)', 'cli', ` | reference, includes Node start-up (${CLI_RUNS} runs)`),
  );
  console.log(
    row(
      'next push (in-process)',
      'push',
      ` | ratio <= ${PUSH_RATIO_TARGET}: ${verdict(many.push / one.push <= PUSH_RATIO_TARGET)}`,
    ),
  );
  console.log(
    `Node start-up: "node -e ''" median ${nodeStart.toFixed(1)} ms; "ksail-fluxd --version" median ${cliStart.toFixed(1)} ms ` +
      `(CLI versions minus --version: 1 version ${(one.cli - cliStart).toFixed(1)} ms, ${MANY} versions ${(many.cli - cliStart).toFixed(1)} ms)`,
  );
};
