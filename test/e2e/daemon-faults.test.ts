import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startFakeCluster } from '../support/fake-cluster/index.js';
import { startFaultyProxy, type FaultyProxy } from '../support/faulty-proxy.js';
import { configMap } from '../support/project.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';
import { artifactFiles, clusterView, registryTags } from './daemon-readers.js';

/**
 * The daemon against a registry that goes away or hangs: the faulty proxy stands in front of the shared real
 * registry (`registryEnabled: false`, `registryPort` = the proxy), so the daemon's requests can be refused, held
 * or dropped while the test reads the real registry directly.
 */
const endpoint = inject('registryEndpoint');
const suite = createCleanup();
/** Per test: daemons, clusters and projects, torn down even when the test fails. */
const perTest = createCleanup();
let proxy: FaultyProxy;

const start = async (project: DaemonProject): Promise<DaemonProcess> => {
  const daemon = await startDaemon(project);
  perTest.add(() => daemon.dispose());
  return daemon;
};
const newProject = async (options: Parameters<typeof createDaemonProject>[0]): Promise<DaemonProject> => {
  const project = await createDaemonProject(options);
  perTest.add(() => project.remove());
  return project;
};
const content = async (project: DaemonProject, tag: string): Promise<string | undefined> =>
  (await artifactFiles(endpoint, project.repository, tag)).get('configmap.yaml');

describe('ksail-fluxd start with registry faults (e2e)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    proxy = await startFaultyProxy(endpoint);
    suite.add(() => proxy.close());
  });
  afterEach(() => perTest.run());
  afterAll(() => suite.run());

  it('pushes a change made while the registry was stopped once it is back', async () => {
    const project = await newProject({ registryPort: proxy.port });
    const daemon = await start(project);
    await vi.waitFor(async () => expect((await daemon.source('app')).lastVersion).toBe('1.0.0'), WAIT);

    perTest.add(() => proxy.up());
    await proxy.down();
    const from = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message: 'while down' }));
    await daemon.waitForEvent(isEvent('error', { data: { code: 'registry-unreachable' } }), from);
    const down = await daemon.status();
    expect(down.registry.status).toBe('Error');
    expect(down.sources[0]?.lastError).toMatch(/registry/i);
    expect(await registryTags(endpoint, project.repository)).toEqual(['1.0.0']);

    await proxy.up();
    await daemon.waitForEvent(isEvent('push', { data: { version: '1.0.1' } }), from);
    expect(await registryTags(endpoint, project.repository)).toEqual(['1.0.0', '1.0.1']);
    expect(await content(project, '1.0.1')).toContain('message: while down');
    const after = await daemon.status();
    expect(after.registry.status).toBe('Running');
    expect(after.sources[0]).toMatchObject({ lastVersion: '1.0.1' });
    expect(after.sources[0]?.lastError).toBeUndefined();
  });

  it('skips and duplicates no version when killed with SIGKILL during a push', async () => {
    const cluster = await startFakeCluster();
    perTest.add(() => cluster.close());
    const view = clusterView(cluster);
    const project = await newProject({ registryPort: proxy.port, cluster });
    const tags = () => registryTags(endpoint, project.repository);
    const manifestPut = (method: string, url: string): boolean =>
      method === 'PUT' && url.startsWith(`/v2/${project.repository}/manifests/`);
    const applied = async (daemon: DaemonProcess, version: string, text: string): Promise<void> => {
      await vi.waitFor(async () => {
        expect(await daemon.source('app')).toMatchObject({ lastVersion: version, tagPatched: true });
        expect(view.configMapData('default', 'hello')?.message).toBe(text);
      }, WAIT);
      expect(view.tag('app')).toBe(version);
    };
    /** Saves `text`, holds the push's manifest PUT at the proxy, and kills the daemon while it waits for it. */
    const killDuringPush = async (daemon: DaemonProcess, text: string) => {
      const held = proxy.hold(manifestPut);
      perTest.add(() => Promise.resolve(held.drop()));
      await project.write('configmap.yaml', configMap('hello', { message: text }));
      await vi.waitFor(() => expect(held.requests.some((request) => request.received)).toBe(true), {
        ...WAIT,
        interval: 5,
      });
      const result = await daemon.stop('SIGKILL');
      expect(result.signal).toBe('SIGKILL');
      return held;
    };

    const first = await start(project);
    await applied(first, '1.0.0', 'one');

    // 1. Killed after the manifest left the daemon: the registry takes it, the daemon never learns it did.
    const landed = await killDuringPush(first, 'two');
    await landed.release();
    expect(await tags()).toEqual(['1.0.0', '1.0.1']);
    expect(await content(project, '1.0.1')).toContain('message: two');
    await project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    const second = await start(project);
    await applied(second, '1.0.2', 'three');
    expect(await tags()).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    expect(await content(project, '1.0.2')).toContain('message: three');

    // 2. Killed before the registry saw the manifest: no tag was written, so the restart reuses the version.
    const lost = await killDuringPush(second, 'four');
    lost.drop();
    expect(await tags()).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    const third = await start(project);
    await applied(third, '1.0.3', 'four');
    expect(await tags()).toEqual(['1.0.0', '1.0.1', '1.0.2', '1.0.3']);
    expect(await content(project, '1.0.3')).toContain('message: four');
  });
});
