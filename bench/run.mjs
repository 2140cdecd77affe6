// `npm run bench`: speed targets of the issues, as medians and ratios. Runs against a real registry process
// (Debian's docker-registry) on a random loopback port; the daemon sections add the fake Kubernetes API with
// emulated Flux controllers (test/support/fake-cluster) in a child process, the cluster section a real
// kube-apiserver with the real Flux controllers (test/support/real-cluster; skipped when they are not built).
// Sections: startup and push-small (issue #10), push (issue #2), incremental (issue #10), versions (issue #3), daemon = latency + burst (issues #5, #10),
// idle (issues #5, #10), cluster. BENCH_SECTIONS=startup,push-small,push,incremental,versions,daemon,idle,cluster selects (default all;
// `latency` or `burst` alone also work). `npm run bench -- --json FILE` also writes every figure to FILE.
// BENCH_BASELINE_CLI=<an older build's dist/cli/main.js> adds its figures next to this build's in the startup,
// push-small, daemon and idle sections (issue #10's "today" column, measured in the same run).
// Other knobs: BENCH_RUNS (push/versions, default 7), BENCH_EDITS (default 20), BENCH_IDLE_SECONDS (default 30),
// BENCH_CLUSTER_EDITS (default 10), BENCH_DAEMON_NODE_ARGS (flags for the daemon's node, e.g. --cpu-prof),
// KSAIL_FLUXD_CLUSTER_DIR (the real cluster's binaries, else `scripts/real-cluster/build.sh --cached` finds them).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { killChildren, track } from './children.mjs';
import { benchCluster } from './cluster.mjs';
import { benchDaemon } from './daemon.mjs';
import { startFakeCluster } from './fake-cluster.mjs';
import { benchIdle } from './idle.mjs';
import { benchIncremental } from './incremental.mjs';
import { writeFigures } from './figures.mjs';
import { benchPush } from './push.mjs';
import { benchPushSmall } from './push-small.mjs';
import { benchStartup } from './startup.mjs';
import { benchVersions } from './versions.mjs';

const ALL = ['startup', 'push-small', 'push', 'incremental', 'versions', 'daemon', 'idle', 'cluster'];

/** `--json FILE` (after `npm run bench --`): where to write the figures. */
const jsonFile = () => {
  const at = process.argv.indexOf('--json');
  if (at === -1) return undefined;
  const file = process.argv[at + 1];
  if (!file) throw new Error('--json needs a file name: npm run bench -- --json FILE');
  // npm runs the script in the package root; a relative name is meant from where npm was called.
  return resolve(process.env.INIT_CWD ?? process.cwd(), file);
};

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const startRegistry = async (work) => {
  const port = await freePort();
  const config = join(work, 'registry.yml');
  await writeFile(
    config,
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${join(work, 'registry')}}\n  delete: {enabled: true}\nhttp: {addr: "127.0.0.1:${port}"}\n`,
  );
  const child = track(spawn('docker-registry', ['serve', config], { stdio: 'ignore' }));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return { port, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error('registry did not start');
};

const main = async () => {
  const sections = (process.env.BENCH_SECTIONS ?? ALL.join(',')).split(',').map((s) => s.trim());
  const json = jsonFile();
  const startedAt = new Date().toISOString();
  const work = await mkdtemp(join(tmpdir(), 'ksail-fluxd-bench-'));
  const interrupted = (signal) => {
    void killChildren()
      .then(() => rm(work, { recursive: true, force: true }))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let registry;
  let cluster;
  const started = performance.now();
  const section = async (name, run) => {
    try {
      await run();
    } catch (error) {
      process.exitCode = 1;
      console.log(`section ${name} FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
  };
  try {
    registry = await startRegistry(work);
    const port = registry.port;
    // Load from other processes inflates every timing here; the load average says how much to trust them.
    const load = () =>
      loadavg()
        .map((value) => value.toFixed(1))
        .join(' ');
    console.log(
      `ksail-fluxd bench — registry 127.0.0.1:${port}, node ${process.version}, sections ${sections}, ` +
        `${availableParallelism()} CPUs, load average ${load()}`,
    );
    const parts = ['latency', 'burst'].filter(
      (part) => sections.includes('daemon') || sections.includes(part),
    );
    if (parts.length > 0 || sections.includes('idle') || sections.includes('startup')) {
      cluster = await startFakeCluster();
    }
    if (sections.includes('startup')) await section('startup', () => benchStartup({ work, port, cluster }));
    if (sections.includes('push-small')) await section('push-small', () => benchPushSmall({ work, port }));
    if (sections.includes('push')) await section('push', () => benchPush({ work, port }));
    if (sections.includes('incremental')) {
      await section('incremental', () => benchIncremental({ work, port }));
    }
    if (sections.includes('versions')) await section('versions', () => benchVersions({ work, port }));
    if (parts.length > 0) await section('daemon', () => benchDaemon({ work, port, cluster, parts }));
    if (sections.includes('idle')) await section('idle', () => benchIdle({ work, port, cluster }));
    if (sections.includes('cluster')) await section('cluster', () => benchCluster({ work, port }));
    if (json) {
      await writeFigures(json, { sections, startedAt });
      console.log(`\nfigures written to ${json}`);
    }
    console.log(
      `\nbench finished in ${((performance.now() - started) / 1000).toFixed(0)} s, load average ${load()}`,
    );
  } finally {
    await Promise.allSettled([cluster?.close(), registry?.stop()]);
    await rm(work, { recursive: true, force: true });
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
};

await main();
