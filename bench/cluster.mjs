// Real-cluster benchmark: the edit loop against a real kube-apiserver with the real source-controller and
// kustomize-controller (test/support/real-cluster, in a child process). Per save of a 100-file / 200 KB source, the
// time until the edited ConfigMap's new content is in the API server (seen by a watch on that ConfigMap), for
// A) ksail-fluxd's daemon in Automatic mode and B) the documented manual loop with the flux CLI (push artifact,
// patch the OCIRepository's tag, reconcile source, reconcile kustomization). The edits alternate A, B, A, B...
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { track } from './children.mjs';
import { startDaemon } from './daemon-process.mjs';
import { median, percentile, writeSource } from './fixtures.mjs';
import { startRealCluster } from './real-cluster.mjs';

const EDITS = Number(process.env.BENCH_CLUSTER_EDITS ?? 10);
const QUIET_MS = 250;
const RATIO_TARGET = 0.5;
const FLUX_NAMESPACE = 'flux-system';
const INTERVAL = '10m';
// The ConfigMap each edit changes (group-000/cm-0.yaml), and the key that carries the edit's marker.
const EDITED = 'cm-0';
const KEY = 'bench-edit';
const BUILD_HINT = 'build them with `bash scripts/real-cluster/build.sh`';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (ok) => (ok ? 'target met' : 'target MISSED');
const ms = (value) => `${value.toFixed(1)} ms`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
const stats = (values) => ({ median: median(values), p95: percentile(values, 95), samples: values });
const show = ({ median: m, p95 }) => `median ${ms(m)}, p95 ${ms(p95)}`;

/** Runs `command` to completion (tracked, so an interrupted bench stops it); rejects with its output on failure. */
const run = (command, args, env) =>
  new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}:\n${output.trim()}`));
    });
  });

const ok = async (response, what) => {
  const { status, body } = await response;
  if (status >= 300) throw new Error(`${what}: ${status} ${JSON.stringify(body)}`);
  return body;
};

/**
 * Watches of one loop: the edited ConfigMap in its target namespace, and its OCIRepository (for when
 * source-controller had the new artifact: status.artifact.revision `<tag>@sha256:...`).
 */
const watchLoop = async (cluster, namespace, name) => {
  const content = await cluster.watch(`/api/v1/namespaces/${namespace}/configmaps`, EDITED);
  const source = await cluster
    .watch(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/ocirepositories`, name)
    .catch((error) => {
      content.close();
      throw error;
    });
  return {
    /** Resolves with the ConfigMap's watch event that carries `marker`. */
    content: (marker) => content.next((cm) => cm.data?.[KEY] === marker),
    /** When the artifact of `tag` was first seen in the OCIRepository's status, from `from` on. */
    artifactAt: (from, tag) =>
      source.since(from).find((e) => e.object?.status?.artifact?.revision?.startsWith(`${tag}@`))
        ?.receivedAt ?? NaN,
    close: () => {
      content.close();
      source.close();
    },
  };
};

/** A source directory and the file every edit rewrites (its original text plus one marker line). */
const prepareSource = async (dir, seed) => {
  await writeSource(dir, 100, 200 * 1024, seed);
  const file = join(dir, 'group-000', `${EDITED}.yaml`);
  const base = await readFile(file, 'utf8');
  return { dir, file, save: (marker) => writeFile(file, `${base}  ${KEY}: "${marker}"\n`) };
};

/** A: ksail-fluxd's daemon pushes, patches and reconciles by itself; the edit ends when the content is applied. */
const oursLoop = async ({ work, port, cluster }) => {
  const name = 'ours';
  const namespace = 'bench-ksail';
  await ok(cluster.api('POST', '/api/v1/namespaces', { metadata: { name: namespace } }), 'namespace');
  const source = await prepareSource(join(work, name), 11);
  const daemon = await startDaemon({
    dir: join(work, 'daemon'),
    port,
    cluster,
    sources: [{ name, path: source.dir, targetNamespace: namespace }],
    quietPeriod: `${QUIET_MS}ms`,
    config: { fluxInterval: INTERVAL, flux: { namespace: FLUX_NAMESPACE } },
  });
  let watch;
  try {
    await daemon.settled();
    watch = await watchLoop(cluster, namespace, name);
  } catch (error) {
    watch?.close();
    await daemon.close();
    throw error;
  }
  const edit = async (i) => {
    const marker = `ours-${i}-${Date.now()}`;
    const seen = watch.content(marker);
    const pushed = daemon.next((e) => e.type === 'push' && e.source === name, 60_000);
    const patched = daemon.next((e) => e.type === 'patch' && e.source === name, 60_000);
    const finished = daemon.next(
      (e) => e.type === 'reconcile-finished' && e.source === name && e.data.outcome !== 'superseded',
      60_000,
    );
    // Awaited one after the other: a failure of the first must not leave the others' rejections unhandled.
    for (const pending of [seen, pushed, patched, finished]) pending.catch(() => undefined);
    await source.save(marker);
    const saved = performance.now();
    const content = await seen;
    const push = await pushed;
    const patch = await patched;
    // Its reconcile's own traffic ends before the other loop's edit.
    const done = await finished;
    if (done.data.outcome !== 'succeeded') throw new Error(`daemon reconcile ${done.data.outcome}`);
    return {
      content: content.receivedAt - saved,
      pushed: push.receivedAt - saved,
      patched: patch.receivedAt - saved,
      artifact: watch.artifactAt(saved, push.data.version) - saved,
      reconciled: done.receivedAt - saved,
    };
  };
  return {
    edit,
    close: async () => {
      watch.close();
      const result = await daemon.close();
      if (result.code !== 0) console.log(`daemon exited with ${result.code ?? result.signal}`);
    },
  };
};

/**
 * B: the manual loop with the flux CLI, as Flux documents it for OCI artifacts; its objects come from `flux create`
 * after a first `flux push artifact`. The edit ends when every command returned and the content is applied.
 */
const fluxLoop = async ({ work, port, cluster }) => {
  const name = 'flux-cli';
  const namespace = 'bench-flux';
  const repository = `oci://localhost:${port}/bench/${name}`;
  const home = join(work, 'flux-home');
  await mkdir(home, { recursive: true });
  const env = { HOME: home, PATH: process.env.PATH, KUBECONFIG: cluster.kubeconfigPath };
  const flux = (...args) => run(cluster.fluxBinary, args, env);
  // An empty placeholder file "runs" too (as an empty shell script): only a version printed counts.
  const version = await flux('version', '--client').then(
    (output) => output.trim(),
    (error) => error.message.split('\n')[0],
  );
  if (!/\d+\.\d+\.\d+/.test(version)) {
    return {
      missing: `the flux CLI ${cluster.fluxBinary} does not run (${version || 'it printed no version'})`,
    };
  }
  await ok(cluster.api('POST', '/api/v1/namespaces', { metadata: { name: namespace } }), 'namespace');
  const source = await prepareSource(join(work, name), 12);
  let tags = 0;
  const push = (tag) =>
    flux(
      'push',
      'artifact',
      `${repository}:${tag}`,
      '--path',
      source.dir,
      '--source',
      `file://${source.dir}`,
      '--revision',
      tag,
    );
  const first = `1.0.${tags++}`;
  await push(first);
  await flux(
    'create',
    'source',
    'oci',
    name,
    '--url',
    repository,
    '--tag',
    first,
    '--insecure',
    '--interval',
    INTERVAL,
    '-n',
    FLUX_NAMESPACE,
  );
  await flux(
    'create',
    'kustomization',
    name,
    '--source',
    `OCIRepository/${name}`,
    '--path',
    './',
    '--prune=true',
    '--target-namespace',
    namespace,
    '--interval',
    INTERVAL,
    '-n',
    FLUX_NAMESPACE,
  );
  const watch = await watchLoop(cluster, namespace, name);
  // `kubectl patch ocirepository <name> --type merge -p '{"spec":{"ref":{"tag":"<tag>"}}}'`, as one request.
  const patchTag = (tag) =>
    ok(
      cluster.api(
        'PATCH',
        `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/ocirepositories/${name}?fieldManager=kubectl-patch`,
        { spec: { ref: { tag } } },
        'application/merge-patch+json',
      ),
      'patch OCIRepository',
    );
  const edit = async (i) => {
    const marker = `flux-${i}-${Date.now()}`;
    const tag = `1.0.${tags++}`;
    const seen = watch.content(marker);
    seen.catch(() => undefined);
    await source.save(marker);
    const saved = performance.now();
    const steps = {};
    let last = saved;
    const step = async (key, action) => {
      await action();
      const now = performance.now();
      steps[key] = now - last;
      last = now;
    };
    await step('push', () => push(tag));
    await step('patch', () => patchTag(tag));
    await step('source', () => flux('reconcile', 'source', 'oci', name, '-n', FLUX_NAMESPACE));
    await step('kustomization', () => flux('reconcile', 'kustomization', name, '-n', FLUX_NAMESPACE));
    const content = (await seen).receivedAt - saved;
    const commands = last - saved;
    const artifact = watch.artifactAt(saved, tag) - saved;
    return { loop: Math.max(commands, content), content, commands, artifact, ...steps };
  };
  return { version, edit, close: async () => watch.close() };
};

/** The cluster section; resolves with its numbers (undefined when skipped), e.g. for a JSON report. */
export const benchCluster = async ({ work, port }) => {
  const dir = join(work, 'cluster');
  console.log(
    `\n== cluster: real kube-apiserver + source-controller + kustomize-controller, 100-file / 200 KB source, ` +
      `save → ConfigMap content in the API server (watch), ${EDITS} edits per loop, interleaved ==`,
  );
  const startedAt = performance.now();
  const cluster = await startRealCluster();
  if (cluster.missing) {
    console.log(`cluster section skipped: the real cluster's binaries are missing: ${cluster.missing}`);
    return undefined;
  }
  let ours;
  let flux;
  try {
    console.log(
      `real cluster up in ${ms(performance.now() - startedAt)} (binaries ${cluster.binariesDir}); ` +
        `load average ${load()}`,
    );
    ours = await oursLoop({ work: dir, port, cluster });
    flux = await fluxLoop({ work: dir, port, cluster });
    if (flux.missing) console.log(`flux CLI loop skipped: ${flux.missing}; ${BUILD_HINT}`);
    else console.log(`flux CLI: ${flux.version}`);
    const loops = flux.missing ? [ours] : [ours, flux];
    // One unmeasured edit each: the first after start-up pays for cold caches (JIT, discovery, connections).
    for (const loop of loops) {
      await loop.edit('warm-up');
      await sleep(200);
    }
    const runs = new Map(loops.map((loop) => [loop, []]));
    for (let i = 0; i < EDITS; i++) {
      for (const loop of loops) {
        runs.get(loop).push(await loop.edit(i));
        // Let the controllers' status updates and any stray file events pass before the next save.
        await sleep(200);
      }
    }
    const columns = (loop, keys) =>
      Object.fromEntries(keys.map((key) => [key, stats(runs.get(loop).map((r) => r[key]))]));
    const result = {
      edits: EDITS,
      quietPeriodMs: QUIET_MS,
      ours: columns(ours, ['content', 'pushed', 'patched', 'artifact', 'reconciled']),
    };
    const o = result.ours;
    console.log(
      `ksail-fluxd daemon (Automatic, quiet period ${QUIET_MS} ms): save → ConfigMap content ${show(o.content)}`,
    );
    console.log(
      `  medians from the save: push event ${ms(o.pushed.median)} | tag patched (patch event) ${ms(o.patched.median)} ` +
        `| new artifact in the OCIRepository status ${ms(o.artifact.median)} | ConfigMap content ${ms(o.content.median)} ` +
        `| reconcile-finished event ${ms(o.reconciled.median)}`,
    );
    if (!flux.missing) {
      result.fluxCli = columns(flux, [
        'loop',
        'content',
        'commands',
        'artifact',
        'push',
        'patch',
        'source',
        'kustomization',
      ]);
      const f = result.fluxCli;
      console.log(
        `flux CLI manual loop (flux push artifact, merge patch of spec.ref.tag, flux reconcile source oci, ` +
          `flux reconcile kustomization): save → every command returned and ConfigMap content ${show(f.loop)}`,
      );
      console.log(
        `  save → ConfigMap content ${show(f.content)}; save → last command returned ${show(f.commands)}`,
      );
      console.log(
        `  medians per step: push artifact ${ms(f.push.median)} | patch ${ms(f.patch.median)} | reconcile source ` +
          `${ms(f.source.median)} | reconcile kustomization ${ms(f.kustomization.median)}; ` +
          `save → new artifact in the OCIRepository status ${ms(f.artifact.median)}`,
      );
      result.ratio = o.content.median / f.loop.median;
      result.contentRatio = o.content.median / f.content.median;
      result.target = RATIO_TARGET;
      result.met = result.ratio <= RATIO_TARGET;
      console.log(
        `ratio of medians (ours / flux CLI loop): ${result.ratio.toFixed(2)} ` +
          `(ours / flux CLI save → ConfigMap content alone: ${result.contentRatio.toFixed(2)})`,
      );
      console.log(`target: ours <= ${RATIO_TARGET} x the flux CLI loop: ${verdict(result.met)}`);
    }
    result.loadAverage = loadavg();
    console.log(`cluster section load average ${load()}`);
    return result;
  } finally {
    await Promise.allSettled([ours?.close(), flux?.close?.()]);
    await cluster.close();
  }
};
