import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { configMap, createTestProject, type TestProject } from '../support/project.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  registryPort,
  runCli,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';
import { registryTags } from './daemon-readers.js';

/**
 * Issue #13: pushers racing for one repository. Every report of a version (each `push --json` line, each push
 * and unchanged event of the daemon) and the registry's own tag must name one manifest per version; with the old
 * code both pushers read the tags first, took the same next version and the later manifest PUT replaced the tag.
 * Each scenario bounds its trials and each CLI run; the figures go to the console for the report.
 */
const endpoint = inject('registryEndpoint');
const cleanup = createCleanup();
/** Bounds one CLI run: a push that waits out a lock or a hung request fails the test instead of hanging it. */
const CLI_TIMEOUT_MS = 30_000;

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

/** `push --json` in `dir` with `config`; its results as reports. */
const cliPush = async (
  project: Pick<TestProject, 'dir' | 'configPath'>,
  by: string,
): Promise<{ reports: Report[]; elapsedMs: number }> => {
  const started = performance.now();
  const result = await runCli(['push', '--json', '--config', project.configPath], {
    dir: project.dir,
    timeoutMs: CLI_TIMEOUT_MS,
  });
  const elapsedMs = performance.now() - started;
  expect(result.exitCode, `${by}: ${result.stderr}${result.stdout}`).toBe(0);
  const { results } = JSON.parse(result.stdout) as {
    results: { version?: string; manifestDigest?: string }[];
  };
  return {
    elapsedMs,
    reports: results.flatMap((line) =>
      line.version && line.manifestDigest ? [{ version: line.version, digest: line.manifestDigest, by }] : [],
    ),
  };
};

const daemonReports = (daemon: DaemonProcess, from = 0): Report[] =>
  daemon
    .eventsSince(from, (event) => event.type === 'push' || event.type === 'unchanged')
    .flatMap((event) =>
      typeof event.data.version === 'string' && typeof event.data.digest === 'string'
        ? [{ version: event.data.version, digest: event.data.digest, by: `daemon ${event.type}` }]
        : [],
    );

/** A second config whose source `app` pushes other content to the same repository, with no daemon on its socket. */
const rivalProject = async (repository: string): Promise<TestProject> => {
  const rival = await createTestProject({
    registryPort: registryPort(),
    source: { repository, targetNamespace: 'default' },
    config: { gitOpsEngine: 'Kubectl', socket: { path: 'rival.sock' } },
    files: { 'configmap.yaml': configMap('hello', { message: 'rival 0' }) },
  });
  cleanup.add(() => rival.remove());
  return rival;
};

describe('pushers racing for one repository (e2e, issue #13)', () => {
  beforeAll(() => ensureBuilt());
  afterEach(() => cleanup.run());

  const startProject = async (): Promise<{ project: DaemonProject; daemon: DaemonProcess }> => {
    const project = await createDaemonProject({
      registryPort: registryPort(),
      config: { gitOpsEngine: 'Kubectl' },
    });
    cleanup.add(() => project.remove());
    const daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    await vi.waitFor(async () => expect((await daemon.source('app')).lastVersion).toBe('1.0.0'), WAIT);
    return { project, daemon };
  };

  it('gives no version two manifests: 20 CLI pushes racing the daemon (10 through its socket, 10 beside it)', async () => {
    const { project, daemon } = await startProject();
    const rival = await rivalProject(project.repository);
    const from = daemon.mark();
    const reports: Report[] = [];
    let slowest = 0;
    for (let trial = 1; trial <= 20; trial += 1) {
      await project.write('configmap.yaml', configMap('hello', { message: `daemon ${trial}` }));
      // Odd trials: `push` of the daemon's own config, which asks the daemon. Even trials: a rival config that
      // pushes other content to the same repository from its own process, under the repository lock.
      const pusher = trial % 2 === 1 ? project : rival;
      if (pusher === rival)
        await rival.write('configmap.yaml', configMap('hello', { message: `rival ${trial}` }));
      const run = await cliPush(pusher, pusher === project ? 'cli via daemon' : 'cli beside daemon');
      reports.push(...run.reports);
      slowest = Math.max(slowest, run.elapsedMs);
    }
    // The daemon's own runs for the last saves have ended (its state is back to idle).
    await vi.waitFor(async () => expect((await daemon.source('app')).state).toBe('idle'), WAIT);
    reports.push(...daemonReports(daemon, from));
    const found = await conflicts(project.repository, reports);
    const tags = await registryTags(endpoint, project.repository);
    console.info(
      `push race, CLI vs daemon: versions duplicated ${found.length} of ${new Set(reports.map((r) => r.version)).size}, ${tags.length} tags, slowest CLI push ${Math.round(slowest)} ms`,
    );
    expect(found).toEqual([]);
    // The daemon's status names a manifest the registry has under that version.
    const status = await daemon.source('app');
    expect(status.digest).toBe(await tagDigest(project.repository, status.lastVersion ?? ''));
  });

  it('gives no version two manifests: two CLI pushes of different content racing each other, 5 times', async () => {
    const first = await createTestProject({
      registryPort: registryPort(),
      source: { targetNamespace: 'default' },
      config: { gitOpsEngine: 'Kubectl', socket: { path: 'first.sock' } },
    });
    cleanup.add(() => first.remove());
    const second = await rivalProject(first.repository);
    const reports: Report[] = [];
    for (let trial = 1; trial <= 5; trial += 1) {
      await first.write('configmap.yaml', configMap('hello', { message: `first ${trial}` }));
      await second.write('configmap.yaml', configMap('hello', { message: `second ${trial}` }));
      const runs = await Promise.all([cliPush(first, 'first cli'), cliPush(second, 'second cli')]);
      reports.push(...runs.flatMap((run) => run.reports));
    }
    const found = await conflicts(first.repository, reports);
    const tags = await registryTags(endpoint, first.repository);
    console.info(
      `push race, CLI vs CLI: versions duplicated ${found.length} of ${new Set(reports.map((r) => r.version)).size}, tags ${tags.join(' ')}`,
    );
    expect(found).toEqual([]);
    // Every run pushed (the contents differ), each to its own version, with none skipped.
    expect(tags).toHaveLength(10);
    expect(tags.at(-1)).toBe('1.0.9');
  });
});
