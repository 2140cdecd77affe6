import { existsSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { configMap, KUSTOMIZATION } from '../support/project.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  runCli,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';
import { artifactFiles, clusterView, registryTags } from './daemon-readers.js';

/**
 * The daemon as users run it: the built CLI (`node dist/cli/main.js start`) against the shared real registry and
 * the fake Kubernetes API with emulated Flux controllers. Each test has its own cluster, project and daemon
 * (Automatic mode), started and caught up before the test, so no test depends on another's state or order.
 */
const endpoint = inject('registryEndpoint');
const cleanup = createCleanup();
let cluster: FakeCluster;
let project: DaemonProject;
let daemon: DaemonProcess;
let view: ReturnType<typeof clusterView>;

const tags = () => registryTags(endpoint, project.repository);
const message = (): string | undefined => view.configMapData('default', 'hello')?.message;
const highestContent = async (): Promise<string | undefined> => {
  const highest = (await tags()).at(-1);
  return highest
    ? (await artifactFiles(endpoint, project.repository, highest)).get('configmap.yaml')
    : undefined;
};

describe('ksail-fluxd start (e2e)', () => {
  beforeAll(() => ensureBuilt());

  beforeEach(async () => {
    cluster = await startFakeCluster();
    cleanup.add(() => cluster.close());
    view = clusterView(cluster);
    project = await createDaemonProject({
      registryPort: registryPort(),
      cluster,
      // Long enough that a busy machine's pauses between the burst's writes do not end the quiet period.
      config: { watch: { quietPeriod: '200ms' } },
    });
    cleanup.add(() => project.remove());
    daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    // Start-up done: the first version applied and its tag patched.
    await vi.waitFor(() => expect(message()).toBe('one'), WAIT);
    await vi.waitFor(
      async () => expect(await daemon.source('app')).toMatchObject({ tagPatched: true }),
      WAIT,
    );
  });

  afterEach(() => cleanup.run());

  it('pushes the source at start-up, applies the Flux objects and reconciles', async () => {
    expect(await tags()).toEqual(['1.0.0']);
    expect(view.tag('app')).toBe('1.0.0');
    expect(existsSync(project.socketPath)).toBe(true);
  });

  it('follows the source directory when it is deleted and re-created, and loses no change', async () => {
    // Issue 9, §1.3: the directory's own watch dies with it; before, nothing was watched again until a restart.
    await rm(project.sourceDir, { recursive: true, force: true });
    await vi.waitFor(
      async () => expect((await daemon.source('app')).lastError).toContain(project.sourceDir),
      WAIT,
    );
    await mkdir(project.sourceDir);
    await project.write('kustomization.yaml', KUSTOMIZATION);
    await project.write('configmap.yaml', configMap('hello', { message: 'recreated' }));
    await vi.waitFor(() => expect(message()).toBe('recreated'), WAIT);
    await project.write('configmap.yaml', configMap('hello', { message: 'after' }));
    await vi.waitFor(() => expect(message()).toBe('after'), WAIT);
    expect(await highestContent()).toContain('after');
  });

  it('turns a save into a new version in the registry, a tag patch and the new ConfigMap', async () => {
    const from = daemon.mark();
    const saved = performance.now();
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    await vi.waitFor(() => expect(message()).toBe('two'), { ...WAIT, interval: 10 });
    const latencyMs = performance.now() - saved;
    await daemon.waitForEvent(
      isEvent('reconcile-finished', { source: 'app', data: { outcome: 'succeeded' } }),
      from,
    );
    expect(await tags()).toEqual(['1.0.0', '1.0.1']);
    expect(await highestContent()).toContain('message: two');
    expect(view.tag('app')).toBe('1.0.1');
    expect(view.lastAppliedRevision('app')).toMatch(/^1\.0\.1@sha256:[0-9a-f]{64}$/);
    expect(
      daemon.eventsSince(from, isEvent('patch', { source: 'app', data: { tag: '1.0.1' } })),
    ).toHaveLength(1);
    // Save → applied in the cluster (measured; not a hard SLO on this machine).
    expect(latencyMs).toBeLessThan(15_000);
    console.info(`e2e save-to-applied latency: ${Math.round(latencyMs)} ms`);
  });

  it('pushes at most twice for 100 writes in one second, and the last write wins', async () => {
    const from = daemon.mark();
    const before = await tags();
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      await project.write('configmap.yaml', configMap('hello', { message: `burst-${i}` }));
      // The workload, not a synchronisation: spread the writes over about one second.
      await delay(Math.max(0, started + (i + 1) * 10 - performance.now()));
    }
    await vi.waitFor(() => expect(message()).toBe('burst-99'), WAIT);
    await vi.waitFor(async () => expect(await daemon.source('app')).toMatchObject({ state: 'idle' }), WAIT);
    const pushes = daemon.eventsSince(from, isEvent('push', { source: 'app' }));
    expect(pushes.length).toBeGreaterThanOrEqual(1);
    expect(pushes.length).toBeLessThanOrEqual(2);
    const after = await tags();
    expect(after).toHaveLength(before.length + pushes.length);
    expect(await highestContent()).toContain('message: burst-99');
    expect(view.tag('app')).toBe(after.at(-1));
    console.info(
      `e2e burst: 100 writes in ${Math.round(performance.now() - started)} ms → ${pushes.length} push(es)`,
    );
  });

  it('pushes nothing for a touch or a save without a change', async () => {
    const before = await tags();
    const file = join(project.sourceDir, 'configmap.yaml');
    const from = daemon.mark();
    const later = new Date(Date.now() + 60_000);
    await utimes(file, later, later);
    await daemon.waitForEvent(isEvent('unchanged', { source: 'app' }), from);
    const resaved = daemon.mark();
    // The content start-up pushed, written again.
    await writeFile(file, configMap('hello', { message: 'one' }));
    await daemon.waitForEvent(isEvent('unchanged', { source: 'app' }), resaved);
    expect(daemon.eventsSince(from, isEvent('push', { source: 'app' }))).toEqual([]);
    expect(daemon.eventsSince(from, isEvent('patch', { source: 'app' }))).toEqual([]);
    expect(await tags()).toEqual(before);
  });

  it('shows an invalid manifest with file:line in status and pushes once it is fixed', async () => {
    const before = await tags();
    const from = daemon.mark();
    await project.write('configmap.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n');
    await daemon.waitForEvent(isEvent('error', { source: 'app', data: { code: 'manifest-invalid' } }), from);
    const status = await runCli(['status', '--json', '--config', project.configPath], { dir: project.dir });
    expect(status.exitCode, status.stderr).toBe(0);
    const app = (
      JSON.parse(status.stdout) as { sources: { name: string; state: string; lastError?: string }[] }
    ).sources[0];
    expect(app).toMatchObject({ name: 'app', state: 'error' });
    expect(app?.lastError).toMatch(/configmap\.yaml:3:\d+/);
    expect(await tags()).toEqual(before);

    await project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    await vi.waitFor(() => expect(message()).toBe('three'), WAIT);
    expect(await tags()).toHaveLength(before.length + 1);
    expect((await daemon.source('app')).lastError).toBeUndefined();
  });

  it('keeps pushing while the cluster is unreachable and patches the latest tag when it is back', async () => {
    const patched = view.tag('app');
    cluster.faults.setUnreachable(true);
    const from = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message: 'four' }));
    const four = await daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
    const second = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message: 'five' }));
    const five = await daemon.waitForEvent(isEvent('push', { source: 'app' }), second);
    const latest = String(five.data.version);
    expect((await tags()).slice(-2)).toEqual([String(four.data.version), latest]);
    expect(await highestContent()).toContain('message: five');
    // Not patched while down: the cluster still points at the version before the outage.
    expect(view.tag('app')).toBe(patched);
    expect(await daemon.source('app')).toMatchObject({ tagPatched: false });

    cluster.faults.setUnreachable(false);
    await vi.waitFor(() => expect(view.tag('app')).toBe(latest), { ...WAIT, timeout: 30_000 });
    await vi.waitFor(() => expect(message()).toBe('five'), { ...WAIT, timeout: 30_000 });
    expect(view.lastAppliedRevision('app')?.startsWith(`${latest}@`)).toBe(true);
    await vi.waitFor(async () => {
      const status = await daemon.status();
      expect(status.cluster.reachable).toBe(true);
      expect(status.sources[0]).toMatchObject({ tagPatched: true, lastVersion: latest });
    }, WAIT);
  });

  it('stops on SIGTERM with exit code 0 and removes its socket', async () => {
    const result = await daemon.stop('SIGTERM');
    expect(result.exitCode).toBe(0);
    expect(daemon.logs.filter((line) => line.message === 'daemon stopped')).toHaveLength(1);
    expect(existsSync(project.socketPath)).toBe(false);
  });
});
