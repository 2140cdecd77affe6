import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DaemonEvent } from '../../src/daemon/control/control-types.js';
import { startFakeCluster } from '../support/fake-cluster/index.js';
import { configMap } from '../support/project.js';
import { describeRealCluster } from '../support/real-cluster/index.js';
import { realClusterNamespaces } from '../support/real-cluster/view.js';
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
import { clusterView } from './daemon-readers.js';

/** What the test reads of a cluster, fake or real, independently of the code under test. */
interface View {
  tag(name: string): Promise<string | undefined>;
  rolledBackFrom(name: string): Promise<string | undefined>;
  lastAppliedRevision(name: string): Promise<string | undefined>;
  message(): Promise<string | undefined>;
}

interface Target {
  kubeconfigPath: string;
  fluxNamespace: string;
  targetNamespace: string;
  view: View;
  close(): Promise<void>;
}

const ANNOTATION = 'io.ksail-fluxd/rolled-back-from';
const WAIT = { timeout: 30_000, interval: 50 } as const;

const annotationOf = (object: Record<string, unknown> | undefined): string | undefined =>
  (object?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[ANNOTATION];

/**
 * `ksail-fluxd rollback` through the daemon's socket and directly: the tag moves back, Flux applies that exact
 * revision, the daemon keeps it there across a restart while the content is unchanged, and the next real save
 * moves it on. Runs on the fake cluster, and on real Flux when its binaries are built.
 */
const rollbackSuite = (start: () => Promise<Target>): void => {
  const cleanup = createCleanup();
  let target: Target;
  let project: DaemonProject;
  let daemon: DaemonProcess;
  const cli = (...args: string[]) => runCli([...args, '--config', project.configPath], { dir: project.dir });
  const finished = (version: string) => (event: DaemonEvent) =>
    isEvent('reconcile-finished', { source: 'app', data: { outcome: 'succeeded' } })(event) &&
    String((event.data.results as { revision?: string }[] | undefined)?.[0]?.revision).startsWith(
      `${version}@`,
    );
  const save = async (message: string, version: string): Promise<void> => {
    const from = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message }));
    await daemon.waitForEvent(finished(version), from, WAIT.timeout);
  };
  const startOurDaemon = async (): Promise<DaemonProcess> => {
    const started = await startDaemon(project);
    cleanup.add(() => started.dispose());
    return started;
  };

  beforeAll(async () => {
    await ensureBuilt();
    target = await start();
    cleanup.add(() => target.close());
    project = await createDaemonProject({
      registryPort: registryPort(),
      cluster: { kubeconfigPath: target.kubeconfigPath },
      config: {
        flux: { namespace: target.fluxNamespace, reconcileTimeout: '30s' },
        sources: [{ name: 'app', path: './app', targetNamespace: target.targetNamespace }],
      },
    });
    cleanup.add(() => project.remove());
    daemon = await startOurDaemon();
    await vi.waitFor(async () => expect(await target.view.message()).toBe('one'), WAIT);
    await save('two', '1.0.1');
    await save('three', '1.0.2');
  });
  afterAll(() => cleanup.run());

  it('rolls back through the daemon to the version before the one the cluster runs, and waits for Flux', async () => {
    const result = await cli('rollback', 'app');
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(
      /app {2}rolled back 1\.0\.2 → 1\.0\.1 {2}reconciled {2}1\.0\.1@sha256:[0-9a-f]{64}/,
    );
    expect(await target.view.tag('app')).toBe('1.0.1');
    expect(await target.view.rolledBackFrom('app')).toBe('1.0.2');
    expect(await target.view.lastAppliedRevision('app')).toMatch(/^1\.0\.1@/);
    expect(await target.view.message()).toBe('two');
    expect((await daemon.source('app')).rolledBack).toEqual({ version: '1.0.1', latest: '1.0.2' });
    const status = await cli('status');
    expect(status.stdout).toContain('rolled back to 1.0.1 until the next save');
  });

  it('refuses an unknown version and lists the known ones', async () => {
    const result = await cli('rollback', 'app', '9.9.9');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('no version 9.9.9');
    expect(result.stderr).toContain('known versions: 1.0.2, 1.0.1, 1.0.0');
    expect(await target.view.tag('app')).toBe('1.0.1');
  });

  it('a restarted daemon leaves the rolled-back tag; the next real save moves it on', async () => {
    await daemon.stop('SIGTERM');
    daemon = await startOurDaemon();
    // Start-up found the content unchanged (1.0.2) and wrote the Flux objects: the status, not events, since the
    // start-up run may end before the event stream opens.
    await vi.waitFor(async () => expect((await daemon.source('app')).tagPatched).toBe(true), WAIT);
    expect((await daemon.source('app')).rolledBack).toEqual({ version: '1.0.1', latest: '1.0.2' });
    expect(await target.view.tag('app')).toBe('1.0.1');
    expect(await target.view.rolledBackFrom('app')).toBe('1.0.2');

    await save('four', '1.0.3');
    expect(await target.view.tag('app')).toBe('1.0.3');
    expect(await target.view.rolledBackFrom('app')).toBeUndefined();
    expect(await target.view.message()).toBe('four');
    expect((await daemon.source('app')).rolledBack).toBeUndefined();
  });

  it('rolls back directly without a daemon, to a named version', async () => {
    await daemon.stop('SIGTERM');
    const result = await cli('rollback', 'app', '1.0.0', '--json');
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      source: 'app',
      from: '1.0.3',
      to: '1.0.0',
      latest: '1.0.3',
      outcome: 'succeeded',
      revision: expect.stringMatching(/^1\.0\.0@sha256:/),
    });
    expect(await target.view.message()).toBe('one');
    expect(await target.view.rolledBackFrom('app')).toBe('1.0.3');
  });
};

describe('ksail-fluxd rollback on the fake cluster (e2e)', () => {
  rollbackSuite(async () => {
    const cluster = await startFakeCluster();
    const view = clusterView(cluster);
    return {
      kubeconfigPath: cluster.kubeconfigPath,
      fluxNamespace: 'flux-system',
      targetNamespace: 'default',
      view: {
        tag: (name) => Promise.resolve(view.tag(name)),
        rolledBackFrom: (name) => Promise.resolve(annotationOf(view.ociRepository(name))),
        lastAppliedRevision: (name) => Promise.resolve(view.lastAppliedRevision(name)),
        message: () => Promise.resolve(view.configMapData('default', 'hello')?.message),
      },
      close: () => cluster.close(),
    };
  });
});

describeRealCluster('ksail-fluxd rollback on real Flux (e2e)', (cluster) => {
  rollbackSuite(async () => {
    const { view, fluxNamespace, target: targetNamespace } = await realClusterNamespaces(cluster);
    return {
      kubeconfigPath: cluster.kubeconfigPath,
      fluxNamespace,
      targetNamespace,
      view: {
        tag: (name) => view.tag(name),
        rolledBackFrom: async (name) => annotationOf(await view.ociRepository(name)),
        lastAppliedRevision: (name) => view.lastAppliedRevision(name),
        message: async () => (await view.configMapData(targetNamespace, 'hello'))?.message,
      },
      close: () => view.deleteFluxObjects(),
    };
  });
});
