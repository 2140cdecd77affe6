// Daemon benchmarks (issues #5, #10): save → pushed and save → tag patched latency over repeated edits, and how
// many pushes a burst of writes causes, with the default watch settings (issue #10: a lone save waits 50 ms). The
// daemon is a real child process; the cluster is the fake one. With BENCH_BASELINE_CLI the same runs with that
// build first (its own defaults), for today's figures in the same run.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIN, startDaemon } from './daemon-process.mjs';
import { figure } from './figures.mjs';
import { writeSource, median, percentile } from './fixtures.mjs';

const EDITS = Number(process.env.BENCH_EDITS ?? 20);
const PATCH_TARGET_MS = 150;
const BURST_WRITES = 100;
const BURST_WINDOW_MS = 1000;
const BURST_TARGET = 2;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (ok) => (ok ? 'target met' : 'target MISSED');
const ms = (value) => `${value.toFixed(1)} ms`;

const tagsOf = async (port, repository) => {
  const response = await fetch(`http://127.0.0.1:${port}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  return (await response.json()).tags ?? [];
};

const measureEdit = async (daemon, name, file, content) => {
  const from = performance.now();
  const push = daemon.next((e) => e.type === 'push' && e.source === name);
  const patch = daemon.next((e) => e.type === 'patch' && e.source === name);
  const reconciled = daemon.next((e) => e.type === 'reconcile-finished' && e.source === name);
  // Awaited one after the other: a failure of the first must not leave the others' rejections unhandled.
  for (const pending of [push, patch, reconciled]) pending.catch(() => undefined);
  await writeFile(file, content);
  const saved = performance.now();
  const pushed = await push;
  const patched = await patch;
  if (patched.data.tag !== pushed.data.version) {
    throw new Error(`patched tag ${patched.data.tag} is not the pushed version ${pushed.data.version}`);
  }
  const finished = await reconciled;
  const mine = daemon.events.filter((e) => e.source === name && e.receivedAt >= from);
  const build = mine.find((e) => e.type === 'build');
  const changes = mine.filter((e) => e.type === 'change' && e.receivedAt <= (build?.receivedAt ?? Infinity));
  const firstChange = changes[0];
  const lastChange = changes.at(-1);
  if (!build || !firstChange || !lastChange) throw new Error('missing change/build events for an edit');
  // The daemon's own timestamps (ms resolution) for the quiet period: the build event reaches the socket only after
  // the synchronous start of the build, which would otherwise count as debounce.
  const at = (event) => Date.parse(event.at);
  return {
    version: pushed.data.version,
    outcome: finished.data.outcome,
    pushed: pushed.receivedAt - saved,
    patched: patched.receivedAt - saved,
    reconciled: finished.receivedAt - saved,
    watch: firstChange.receivedAt - saved,
    debounce: at(build) - at(lastChange),
    buildPush: pushed.receivedAt - build.receivedAt,
    publish: pushed.data.elapsedMs,
    patch: patched.receivedAt - pushed.receivedAt,
  };
};

const latency = async ({ daemon, name, file, base, cluster, cli }) => {
  const runs = [];
  for (let i = 0; i < EDITS; i++) {
    runs.push(await measureEdit(daemon, name, file, `${base}  edit-${i}: "${i}-${Date.now()}"\n`));
    // Let the reconcile's own cluster traffic and any stray file events pass before the next save.
    await sleep(200);
  }
  const col = (key) => runs.map((run) => run[key]);
  const stats = (key) => `median ${ms(median(col(key)))}, p95 ${ms(percentile(col(key), 95))}`;
  const patchedMedian = median(col('patched'));
  const failed = runs.filter((run) => run.outcome !== 'succeeded').length;
  const lastTag = await cluster.tagOf(name);
  const section = `daemon (${cli})`;
  figure(section, 'quiet period: last change → build', median(col('debounce')), 'ms');
  figure(section, 'save → pushed', median(col('pushed')), 'ms', { p95: percentile(col('pushed'), 95) });
  console.log(
    `[${cli}] quiet period (debounce), last change → build (daemon event times): ${stats('debounce')}`,
  );
  console.log(`save → pushed (push event):        ${stats('pushed')}`);
  console.log(`save → tag patched (patch event):  ${stats('patched')}`);
  console.log(
    `  breakdown (medians): save → first change event ${ms(median(col('watch')))} | build event → push event ` +
      `${ms(median(col('buildPush')))} (publishSource elapsedMs ${ms(median(col('publish')))}) | push → patch ${ms(median(col('patch')))}`,
  );
  console.log(
    `save → reconciled (reference, no target): ${stats('reconciled')}; ${runs.length - failed}/${runs.length} reconciles succeeded; ` +
      `OCIRepository spec.ref.tag in the cluster ${lastTag} (last pushed ${runs.at(-1)?.version})`,
  );
  const met = patchedMedian <= PATCH_TARGET_MS && lastTag === runs.at(-1)?.version;
  figure(section, 'save → tag patched', patchedMedian, 'ms', {
    p95: percentile(col('patched'), 95),
    ...(cli === 'new' ? { target: `<= ${PATCH_TARGET_MS} ms`, met } : {}),
  });
  figure(section, 'build → push event', median(col('buildPush')), 'ms');
  figure(section, 'push → patch', median(col('patch')), 'ms');
  console.log(
    `target: median save → tag patched, quiet period included, <= ${PATCH_TARGET_MS} ms: ${ms(patchedMedian)}` +
      (cli === 'new' ? `, ${verdict(met)}` : ' (today)'),
  );
};

const burst = async ({ daemon, name, file, base, port, cli }) => {
  const repository = `bench/${name}`;
  const before = await tagsOf(port, repository);
  const started = performance.now();
  for (let i = 0; i < BURST_WRITES; i++) {
    await writeFile(file, `${base}  burst: "${i}-${Date.now()}"\n`);
    const due = started + ((i + 1) * BURST_WINDOW_MS) / BURST_WRITES;
    await sleep(Math.max(0, due - performance.now()));
  }
  const lastWrite = performance.now();
  await daemon.next((e) => e.type === 'push' && e.source === name);
  await daemon.settled({ quietMs: 2000 });
  const after = await tagsOf(port, repository);
  const since = daemon.events.filter((e) => e.source === name && e.receivedAt >= started);
  const count = (type) => since.filter((e) => e.type === type).length;
  const pushes = count('push');
  const lastPush = since.filter((e) => e.type === 'push').at(-1);
  console.log(
    `burst: ${BURST_WRITES} writes to one file in ${ms(lastWrite - started)}; ${pushes} push event(s), ${count('build')} build(s), ` +
      `${count('unchanged')} unchanged, ${after.length - before.length} new tag(s) in the registry; ` +
      `last write → last push ${ms((lastPush?.receivedAt ?? lastWrite) - lastWrite)}`,
  );
  const met = pushes <= BURST_TARGET && after.length - before.length <= BURST_TARGET;
  figure(`daemon (${cli})`, `pushes for ${BURST_WRITES} writes in 1 s`, pushes, 'pushes', {
    target: `<= ${BURST_TARGET}`,
    met,
  });
  console.log(`target: <= ${BURST_TARGET} pushes for the burst: ${verdict(met)}`);
};

export const benchDaemon = async ({ work, port, cluster, parts = ['latency', 'burst'] }) => {
  const baseline = process.env.BENCH_BASELINE_CLI;
  if (baseline) await benchDaemonWith({ work, port, cluster, parts, cli: 'today', main: baseline });
  await benchDaemonWith({ work, port, cluster, parts, cli: 'new', main: MAIN });
};

const benchDaemonWith = async ({ work, port, cluster, parts, cli, main }) => {
  const name = `latency-${cli}`;
  const dir = join(work, `daemon-${cli}`);
  const sourceDir = join(dir, name);
  await writeSource(sourceDir, 100, 200 * 1024, 11);
  const file = join(sourceDir, 'group-000', 'cm-0.yaml');
  const base = await readFile(file, 'utf8');
  console.log(
    `\n== daemon (issues #5, #10) [${cli}]: "ksail-fluxd start" child process, 100-file source, fake cluster, default watch settings` +
      `${parts.includes('latency') ? `, ${EDITS} edits` : ''}${parts.includes('burst') ? ', burst' : ''} ==`,
  );
  const daemon = await startDaemon({
    dir,
    port,
    cluster,
    sources: [{ name, path: sourceDir }],
    main,
  });
  try {
    await daemon.settled();
    if (parts.includes('latency')) await latency({ daemon, name, file, base, cluster, cli });
    if (parts.includes('burst')) await burst({ daemon, name, file, base, port, cli });
  } finally {
    const result = await daemon.close();
    if (result.code !== 0) console.log(`daemon exited with ${result.code ?? result.signal}`);
  }
};
