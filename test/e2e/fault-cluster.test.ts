import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { startHangProxy, type HangProxy } from '../support/hang-proxy.js';
import { configMap } from '../support/project.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  startDaemon,
  WAIT,
  type DaemonProcess,
} from './daemon-harness.js';
import { clusterView } from './daemon-readers.js';

/**
 * Fault suite (issue #13), the cluster side: an API server that hangs, one that refuses connections, and a storm
 * of 409 conflicts. Status must report a hung or unreachable API within 5 s, and the latest tag must land once
 * the fault clears. Each scenario bounds its waits; the figures go to the console for the report.
 */
const cleanup = createCleanup();
/** Status must say "unreachable" within this long of the push whose tag write meets the fault. */
const REPORT_WITHIN_MS = 5_000;
/** The hung tag write times out (10 s per request) and is retried with backoff once the API answers again. */
const RECOVER = { timeout: 45_000, interval: 50 } as const;

/** A copy of the cluster's kubeconfig whose server is the hang proxy. */
const kubeconfigVia = async (cluster: FakeCluster, proxy: HangProxy, dir: string): Promise<string> => {
  const config = parse(await readFile(cluster.kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
  };
  for (const entry of config.clusters) entry.cluster.server = proxy.url;
  const path = join(dir, 'kubeconfig-via-proxy');
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
};

const setUp = async (options: { hang?: boolean } = {}) => {
  const cluster = await startFakeCluster();
  cleanup.add(() => cluster.close());
  const url = new URL(cluster.url);
  const proxy = options.hang
    ? await startHangProxy({ host: url.hostname, port: Number(url.port) })
    : undefined;
  if (proxy) cleanup.add(() => proxy.close());
  const project = await createDaemonProject({ registryPort: registryPort(), cluster });
  cleanup.add(() => project.remove());
  if (proxy) {
    const kubeconfig = await kubeconfigVia(cluster, proxy, project.dir);
    const config = parse(await readFile(project.configPath, 'utf8')) as { cluster: { kubeconfig: string } };
    config.cluster.kubeconfig = kubeconfig;
    await writeFile(project.configPath, stringify(config));
  }
  const daemon = await startDaemon(project);
  cleanup.add(() => daemon.dispose());
  const view = clusterView(cluster);
  await vi.waitFor(async () => {
    expect(await daemon.source('app')).toMatchObject({ lastVersion: '1.0.0', tagPatched: true });
  }, WAIT);
  return { cluster, proxy, project, daemon, view };
};

/** Saves, waits for the push of `version`, and returns how long status took after it to say "unreachable". */
const timeToUnreachable = async (
  daemon: DaemonProcess,
  save: () => Promise<void>,
  version: string,
): Promise<number> => {
  const from = daemon.mark();
  await save();
  await daemon.waitForEvent(isEvent('push', { data: { version } }), from);
  const pushed = performance.now();
  await vi.waitFor(async () => expect((await daemon.status()).cluster.reachable).toBe(false), {
    timeout: REPORT_WITHIN_MS,
    interval: 50,
  });
  return performance.now() - pushed;
};

describe('fault suite: the cluster (e2e, issue #13)', () => {
  beforeAll(() => ensureBuilt());
  afterEach(() => cleanup.run());

  it('reports a hung API server in status within 5 s, and patches the latest tag once it answers', async () => {
    const { proxy, project, daemon, view } = await setUp({ hang: true });
    proxy?.hang(true);
    const hungMs = await timeToUnreachable(
      daemon,
      () => project.write('configmap.yaml', configMap('hello', { message: 'while hung' })),
      '1.0.1',
    );
    expect((await daemon.status()).cluster.lastError).toMatch(/127\.0\.0\.1/);
    proxy?.hang(false);
    await vi.waitFor(async () => {
      expect(view.tag('app')).toBe('1.0.1');
      expect((await daemon.status()).cluster.reachable).toBe(true);
    }, RECOVER);
    console.info(`fault suite: hung API reported in ${(hungMs / 1000).toFixed(1)} s`);
  });

  it('reports an API server that refuses connections within 5 s, and catches up when it is back', async () => {
    const { cluster, project, daemon, view } = await setUp();
    cluster.faults.setUnreachable(true);
    const downMs = await timeToUnreachable(
      daemon,
      () => project.write('configmap.yaml', configMap('hello', { message: 'while down' })),
      '1.0.1',
    );
    cluster.faults.setUnreachable(false);
    await vi.waitFor(
      () => expect(view.configMapData('default', 'hello')?.message).toBe('while down'),
      RECOVER,
    );
    console.info(`fault suite: unreachable API reported in ${(downMs / 1000).toFixed(1)} s`);
  });

  it('applies the latest version through a storm of 409 conflicts that outlasts one write’s retries', async () => {
    const { cluster, project, daemon, view } = await setUp();
    const from = daemon.mark();
    // One tag write tries 6 times; 10 conflicts make the daemon retry the write itself.
    cluster.faults.conflictNextWrites(10);
    await project.write('configmap.yaml', configMap('hello', { message: 'after the storm' }));
    await vi.waitFor(
      () => expect(view.configMapData('default', 'hello')?.message).toBe('after the storm'),
      RECOVER,
    );
    expect(view.tag('app')).toBe('1.0.1');
    const retried = daemon.eventsSince(from, isEvent('error', { data: { code: 'cluster-http' } })).length;
    console.info(`fault suite: 409 storm of 10 conflicts: applied, ${retried} write retries by the daemon`);
  });
});
