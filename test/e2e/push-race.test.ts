import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startFaultyProxy, type FaultyProxy } from '../support/faulty-proxy.js';
import { configMap, createTestProject, type TestProject } from '../support/project.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  MAIN,
  registryPort,
  startDaemon,
  WAIT,
  type DaemonProcess,
} from './daemon-harness.js';
import { registryTags } from './daemon-readers.js';

/**
 * Issue #13: pushers racing for one repository. Each trial holds the first pusher's manifest PUT at the faulty
 * proxy (it has chosen its version and uploaded its blobs), starts the second pusher, and lets the first go once
 * the second has either finished or is waiting for the repository lock (its push lock file exists). With the old
 * code the second read the tags, took the same version and the first PUT then replaced its tag; now the second
 * waits, reads the tags again and takes the next version. Every report of a version (each `push --json` line,
 * each push and unchanged event of the daemon) and the registry's own tag must name one manifest per version.
 * Each trial and each CLI run is bounded; the figures go to the console for the report.
 */
const endpoint = inject('registryEndpoint');
const suite = createCleanup();
const cleanup = createCleanup();
/** Bounds one CLI run: a push that waits out a lock or a hung request fails the test instead of hanging it. */
const CLI_TIMEOUT_MS = 30_000;
let proxy: FaultyProxy;

interface Report {
  version: string;
  digest: string;
  by: string;
}

const tagDigest = async (repository: string, tag: string): Promise<string | undefined> => {
  const response = await fetch(`http://${endpoint}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
};

/** Versions that were reported with two manifests, or whose registry tag is another manifest than reported. */
const conflicts = async (repository: string, reports: readonly Report[]): Promise<string[]> => {
  const byVersion = new Map<string, Set<string>>();
  for (const report of reports) {
    byVersion.set(report.version, (byVersion.get(report.version) ?? new Set()).add(report.digest));
  }
  const found: string[] = [];
  for (const [version, digests] of byVersion) {
    const tagged = await tagDigest(repository, version);
    if (digests.size > 1 || !tagged || !digests.has(tagged)) {
      found.push(`${version}: reported ${[...digests].join(', ')}, tag ${tagged ?? 'missing'}`);
    }
  }
  return found;
};

/**
 * `push --json` of `project` as a child process. `home` is its HOME: pushers that share a state directory share
 * the repository lock, as a daemon and a `push` of one user do.
 */
const startPush = (project: Pick<TestProject, 'dir' | 'configPath'>, home: string) =>
  execa('node', [MAIN, 'push', '--json', '--config', project.configPath], {
    cwd: project.dir,
    reject: false,
    timeout: CLI_TIMEOUT_MS,
    extendEnv: false,
    env: {
      HOME: home,
      PATH: process.env.PATH,
      XDG_RUNTIME_DIR: project.dir,
      KSAIL_FLUXD_LOG_FORMAT: 'json',
      KSAIL_FLUXD_LOG_LEVEL: 'warn',
    },
  });

type PushRun = ReturnType<typeof startPush>;

const reportsOf = async (run: PushRun, by: string): Promise<{ reports: Report[]; daemon?: number }> => {
  const result = await run;
  expect(result.exitCode, `${by}: ${result.stderr}${result.stdout}`).toBe(0);
  const { results } = JSON.parse(result.stdout) as {
    results: { version?: string; manifestDigest?: string; daemon?: number }[];
  };
  return {
    reports: results.flatMap((line) =>
      line.version && line.manifestDigest ? [{ version: line.version, digest: line.manifestDigest, by }] : [],
    ),
    ...(results[0]?.daemon === undefined ? {} : { daemon: results[0].daemon }),
  };
};

/** The second pusher has finished, or holds a push lock file and so waits for the repository lock. */
const waitingOrDone = async (run: PushRun, home: string): Promise<void> => {
  let exited = false;
  void run.then(() => (exited = true));
  const locks = join(home, '.local/state/ksail-fluxd/registry/local-registry/locks');
  await vi.waitFor(
    async () => {
      if (exited) return;
      const files = await readdir(locks).catch(() => [] as string[]);
      expect(files.some((name) => name.startsWith(`push-${run.pid}-`))).toBe(true);
    },
    { timeout: CLI_TIMEOUT_MS, interval: 10 },
  );
};

const manifestPut = (repository: string) => (method: string, url: string) =>
  method === 'PUT' && url.startsWith(`/v2/${repository}/manifests/`);

const daemonReports = (daemon: DaemonProcess, from = 0): Report[] =>
  daemon
    .eventsSince(from, (event) => event.type === 'push' || event.type === 'unchanged')
    .flatMap((event) =>
      typeof event.data.version === 'string' && typeof event.data.digest === 'string'
        ? [{ version: event.data.version, digest: event.data.digest, by: `daemon ${event.type}` }]
        : [],
    );

/** A second config whose source `app` pushes other content to `repository`, straight to the registry. */
const rivalProject = async (repository: string, name = 'rival'): Promise<TestProject> => {
  const rival = await createTestProject({
    registryPort: registryPort(),
    source: { repository, targetNamespace: 'default' },
    config: { gitOpsEngine: 'Kubectl', socket: { path: `${name}.sock` } },
    files: { 'configmap.yaml': configMap('hello', { message: `${name} 0` }) },
  });
  cleanup.add(() => rival.remove());
  return rival;
};

describe('pushers racing for one repository (e2e, issue #13)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    proxy = await startFaultyProxy(endpoint);
    suite.add(() => proxy.close());
  });
  afterEach(() => cleanup.run());
  afterAll(() => suite.run());

  it('gives no version two manifests: 20 CLI pushes racing the daemon mid-push', async () => {
    // The daemon pushes through the proxy; the rival `push` goes straight to the registry, in the same HOME.
    const project = await createDaemonProject({
      registryPort: proxy.port,
      config: { gitOpsEngine: 'Kubectl' },
    });
    cleanup.add(() => project.remove());
    const daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    await vi.waitFor(async () => expect((await daemon.source('app')).lastVersion).toBe('1.0.0'), WAIT);
    const rival = await rivalProject(project.repository);
    const from = daemon.mark();
    const reports: Report[] = [];
    let slowest = 0;
    for (let trial = 1; trial <= 20; trial += 1) {
      const held = proxy.hold(manifestPut(project.repository));
      cleanup.add(() => Promise.resolve(held.drop()));
      await project.write('configmap.yaml', configMap('hello', { message: `daemon ${trial}` }));
      await vi.waitFor(() => expect(held.requests.some((request) => request.received)).toBe(true), WAIT);
      await rival.write('configmap.yaml', configMap('hello', { message: `rival ${trial}` }));
      const started = performance.now();
      const run = startPush(rival, project.dir);
      await waitingOrDone(run, project.dir);
      await held.release();
      reports.push(...(await reportsOf(run, `rival ${trial}`)).reports);
      slowest = Math.max(slowest, performance.now() - started);
      await vi.waitFor(async () => expect((await daemon.source('app')).state).toBe('idle'), WAIT);
    }
    reports.push(...daemonReports(daemon, from));
    const found = await conflicts(project.repository, reports);
    const tags = await registryTags(endpoint, project.repository);
    console.info(
      `push race, CLI vs daemon: versions duplicated ${found.length} of ${new Set(reports.map((r) => r.version)).size} (20 trials), ${tags.length} tags, slowest CLI push ${Math.round(slowest)} ms`,
    );
    expect(found).toEqual([]);
    // Every trial pushed twice (the contents differ), each to its own version, none skipped.
    expect(tags).toHaveLength(41);
    const status = await daemon.source('app');
    expect(status.digest).toBe(await tagDigest(project.repository, status.lastVersion ?? ''));
  });

  it('pushes through the running daemon and prints its result', async () => {
    const project = await createDaemonProject({
      registryPort: registryPort(),
      config: { gitOpsEngine: 'Kubectl' },
    });
    cleanup.add(() => project.remove());
    const daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    await vi.waitFor(async () => expect((await daemon.source('app')).lastVersion).toBe('1.0.0'), WAIT);
    const from = daemon.mark();
    const reports: Report[] = [];
    for (let trial = 1; trial <= 3; trial += 1) {
      await project.write('configmap.yaml', configMap('hello', { message: `via daemon ${trial}` }));
      const run = await reportsOf(startPush(project, project.dir), `via daemon ${trial}`);
      expect(run.daemon).toBe(daemon.pid);
      reports.push(...run.reports);
    }
    await vi.waitFor(async () => expect((await daemon.source('app')).state).toBe('idle'), WAIT);
    reports.push(...daemonReports(daemon, from));
    expect(await conflicts(project.repository, reports)).toEqual([]);
    // The daemon's status names the version the last `push` printed.
    expect((await daemon.source('app')).lastVersion).toBe(
      reports.filter((r) => r.by.startsWith('via')).at(-1)?.version,
    );
  });

  it('gives no version two manifests: two CLI pushes of different content racing each other, 5 times', async () => {
    const first = await createTestProject({
      registryPort: proxy.port,
      source: { targetNamespace: 'default' },
      config: { gitOpsEngine: 'Kubectl', socket: { path: 'first.sock' } },
    });
    cleanup.add(() => first.remove());
    const second = await rivalProject(first.repository, 'second');
    const reports: Report[] = [];
    for (let trial = 1; trial <= 5; trial += 1) {
      await first.write('configmap.yaml', configMap('hello', { message: `first ${trial}` }));
      await second.write('configmap.yaml', configMap('hello', { message: `second ${trial}` }));
      const held = proxy.hold(manifestPut(first.repository));
      cleanup.add(() => Promise.resolve(held.drop()));
      const one = startPush(first, first.dir);
      await vi.waitFor(() => expect(held.requests.some((request) => request.received)).toBe(true), WAIT);
      const two = startPush(second, first.dir);
      await waitingOrDone(two, first.dir);
      await held.release();
      for (const [run, by] of [
        [one, 'first'],
        [two, 'second'],
      ] as const) {
        reports.push(...(await reportsOf(run, `${by} ${trial}`)).reports);
      }
    }
    const found = await conflicts(first.repository, reports);
    const tags = await registryTags(endpoint, first.repository);
    console.info(
      `push race, CLI vs CLI: versions duplicated ${found.length} of ${new Set(reports.map((r) => r.version)).size} (5 trials), tags ${tags.join(' ')}`,
    );
    expect(found).toEqual([]);
    expect(tags).toHaveLength(10);
    expect(tags.at(-1)).toBe('1.0.9');
  });
});
