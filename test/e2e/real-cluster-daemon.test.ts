import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { DaemonEvent, ReconcileResponse } from '../../src/daemon/control/control-types.js';
import { configMap } from '../support/project.js';
import { describeRealCluster, type RealClusterInfo } from '../support/real-cluster/index.js';
import { realClusterNamespaces, type RealClusterView } from '../support/real-cluster/view.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  runCli,
  startDaemon,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';

/**
 * The daemon against real Flux: kube-apiserver, source-controller and kustomize-controller (test/support/
 * real-cluster), the built CLI as a child process, the shared real registry. Each daemon gets its own Flux
 * namespace and target namespace, since the cluster is shared by the run.
 */
const REAL_WAIT = { timeout: 30_000, interval: 50 } as const;

/** The end of the request that reconciled `revision` (the newest push). */
const finishedFor =
  (revision: string) =>
  (event: DaemonEvent): boolean =>
    isEvent('reconcile-finished', { source: 'app' })(event) &&
    (event.data.results as { revision?: string }[] | undefined)?.[0]?.revision === revision;

interface Setup {
  project: DaemonProject;
  daemon: DaemonProcess;
  view: RealClusterView;
  target: string;
}

const setUp = async (
  cluster: RealClusterInfo,
  cleanup: ReturnType<typeof createCleanup>,
  args: string[] = [],
): Promise<Setup> => {
  await ensureBuilt();
  const { view, fluxNamespace, target } = await realClusterNamespaces(cluster);
  cleanup.add(() => view.deleteFluxObjects());
  const project = await createDaemonProject({
    registryPort: registryPort(),
    cluster,
    config: {
      flux: { namespace: fluxNamespace, reconcileTimeout: '30s' },
      sources: [{ name: 'app', path: './app', targetNamespace: target }],
    },
  });
  cleanup.add(() => project.remove());
  const daemon = await startDaemon({ ...project, args });
  cleanup.add(() => daemon.dispose());
  return { project, daemon, view, target };
};

describeRealCluster('the daemon on real Flux, Automatic mode (e2e)', (cluster) => {
  const cleanup = createCleanup();
  let s: Setup;
  const message = async () => (await s.view.configMapData(s.target, 'hello'))?.message;

  beforeAll(async () => {
    s = await setUp(cluster, cleanup);
  });
  afterAll(() => cleanup.run());

  it('applies the first version at start-up', async () => {
    await vi.waitFor(async () => expect(await message()).toBe('one'), REAL_WAIT);
    expect(await s.view.tag('app')).toBe('1.0.0');
    await s.daemon.waitForEvent(
      isEvent('reconcile-finished', { source: 'app', data: { outcome: 'succeeded' } }),
      0,
      REAL_WAIT.timeout,
    );
  });

  it('after every save the OCIRepository reports <tag>@<digest> and the ConfigMap holds the new content', async () => {
    for (const text of ['two', 'three', 'four']) {
      const from = s.daemon.mark();
      await s.project.write('configmap.yaml', configMap('hello', { message: text }));
      const push = await s.daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
      const revision = `${String(push.data.version)}@${String(push.data.digest)}`;
      const finished = await s.daemon.waitForEvent(finishedFor(revision), from, REAL_WAIT.timeout);
      expect(finished.data).toMatchObject({ outcome: 'succeeded', results: [{ source: 'app', revision }] });
      expect(await s.view.sourceRevision('app')).toBe(revision);
      expect(await s.view.lastAppliedRevision('app')).toBe(revision);
      expect(await message()).toBe(text);
    }
  });

  it('two saves within one reconcile: the first ends superseded at once, the newest reports what Flux applied', async () => {
    const from = s.daemon.mark();
    await s.project.write('configmap.yaml', configMap('hello', { message: 'five' }));
    const first = await s.daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
    await s.daemon.waitForEvent(isEvent('reconcile-started', { source: 'app' }), from);
    const second = s.daemon.mark();
    await s.project.write('configmap.yaml', configMap('hello', { message: 'six' }));
    const push = await s.daemon.waitForEvent(isEvent('push', { source: 'app' }), second);
    const revision = `${String(push.data.version)}@${String(push.data.digest)}`;
    const last = await s.daemon.waitForEvent(finishedFor(revision), second, REAL_WAIT.timeout);
    expect(last.data.outcome).toBe('succeeded');
    const outcomes = s.daemon
      .eventsSince(from, isEvent('reconcile-finished', { source: 'app' }))
      .map((event) => event.data);
    // Nothing failed or timed out; a request Flux overtook names the version that replaced it.
    expect(outcomes.map((data) => data.outcome).every((o) => o === 'succeeded' || o === 'superseded')).toBe(
      true,
    );
    for (const data of outcomes.filter((d) => d.outcome === 'superseded')) {
      expect(data.supersededBy).toBe(push.data.version);
    }
    expect(first.data.version).not.toBe(push.data.version);
    expect(await message()).toBe('six');
    expect(await s.view.lastAppliedRevision('app')).toBe(revision);
  });

  it('reports a Kustomization the user suspended at once, with `flux resume` as the fix', async () => {
    await s.view.patchKustomization('app', { spec: { suspend: true } });
    const started = performance.now();
    const result = await runCli(['reconcile', 'app', '--wait', '--config', s.project.configPath], {
      dir: s.project.dir,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/is suspended \(spec\.suspend: true\)/);
    expect(result.stdout).toContain('flux resume kustomization app -n flux-');
    await s.view.patchKustomization('app', { spec: { suspend: null } });
  });
});

describeRealCluster('the daemon on real Flux, Manual mode (e2e)', (cluster) => {
  const cleanup = createCleanup();
  let s: Setup;
  const message = async () => (await s.view.configMapData(s.target, 'hello'))?.message;

  beforeAll(async () => {
    s = await setUp(cluster, cleanup, ['--mode', 'manual']);
  });
  afterAll(() => cleanup.run());

  it('holds every save until the trigger, then applies exactly the latest version', async () => {
    await vi.waitFor(async () => {
      expect(await message()).toBe('one');
      expect(await s.view.lastAppliedRevision('app')).toMatch(/^1\.0\.0@/);
    }, REAL_WAIT);
    const applied = await s.view.lastAppliedRevision('app');
    const from = s.daemon.mark();
    await s.project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    await s.daemon.waitForEvent(isEvent('push', { source: 'app', data: { version: '1.0.1' } }), from);
    await s.project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    const latest = await s.daemon.waitForEvent(
      isEvent('push', { source: 'app', data: { version: '1.0.2' } }),
      from,
    );
    // The tag move makes source-controller fetch 1.0.2 (a spec change); the held Kustomization applies nothing.
    await vi.waitFor(async () => expect(await s.view.sourceRevision('app')).toMatch(/^1\.0\.2@/), REAL_WAIT);
    expect(await s.view.lastAppliedRevision('app')).toBe(applied);
    expect(await message()).toBe('one');
    expect((await s.daemon.source('app')).pendingRequests).toHaveLength(1);

    const result = await runCli(['reconcile', '--wait', '--json', '--config', s.project.configPath], {
      dir: s.project.dir,
    });
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    const { requests } = JSON.parse(result.stdout) as ReconcileResponse;
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      outcome: 'succeeded',
      results: [{ source: 'app', revision: `1.0.2@${String(latest.data.digest)}` }],
    });
    expect(await message()).toBe('three');
    const kustomization = await s.view.kustomization('app');
    expect((kustomization?.spec as { suspend?: boolean }).suspend).toBeUndefined();
  });
});
