import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import type { ReconcileResponse } from '../../src/daemon/control/control-types.js';
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
import { clusterView } from './daemon-readers.js';

/**
 * `ksail-fluxd start --mode manual` with two sources: saves are pushed and the tags patched, but Flux applies
 * nothing until `ksail-fluxd reconcile` (over the daemon's socket), which runs exactly one request per source.
 */
const cleanup = createCleanup();
let cluster: FakeCluster;
let project: DaemonProject;
let daemon: DaemonProcess;
let view: ReturnType<typeof clusterView>;

const message = (name: string): string | undefined => view.configMapData('default', name)?.message;
const writeWeb = (text: string) =>
  writeFile(join(project.dir, 'web', 'configmap.yaml'), configMap('web', { message: text }));

describe('ksail-fluxd start --mode manual (e2e)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    cluster = await startFakeCluster();
    cleanup.add(() => cluster.close());
    view = clusterView(cluster);
    project = await createDaemonProject({
      registryPort: registryPort(),
      cluster,
      config: {
        sources: [
          { name: 'app', path: './app', targetNamespace: 'default' },
          { name: 'web', path: './web', targetNamespace: 'default' },
        ],
      },
    });
    cleanup.add(() => project.remove());
    await mkdir(join(project.dir, 'web'));
    await writeFile(join(project.dir, 'web', 'kustomization.yaml'), KUSTOMIZATION);
    await writeWeb('w1');
    daemon = await startDaemon({ ...project, args: ['--mode', 'manual'] });
    cleanup.add(() => daemon.dispose());
  });

  afterAll(() => cleanup.run());

  it('creates the Flux objects for both sources at start-up', async () => {
    await vi.waitFor(async () => {
      const status = await daemon.status();
      expect(status.mode).toBe('Manual');
      expect(status.sources.map((source) => [source.name, source.lastVersion, source.tagPatched])).toEqual([
        ['app', '1.0.0', true],
        ['web', '1.0.0', true],
      ]);
    }, WAIT);
    expect([view.tag('app'), view.tag('web')]).toEqual(['1.0.0', '1.0.0']);
  });

  it('pushes and patches the tags but reconciles nothing until `ksail-fluxd reconcile`', async () => {
    // Whatever Flux did with the objects it was given at start-up has settled.
    await vi.waitFor(() => {
      expect(view.lastAppliedRevision('app')).toMatch(/^1\.0\.0@/);
      expect(view.lastAppliedRevision('web')).toMatch(/^1\.0\.0@/);
    }, WAIT);
    const applied = { app: view.lastAppliedRevision('app'), web: view.lastAppliedRevision('web') };
    const from = daemon.mark();

    // Two saves of app (each waits for its push) and one of web before the trigger.
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    await daemon.waitForEvent(isEvent('push', { source: 'app', data: { version: '1.0.1' } }), from);
    await project.write('configmap.yaml', configMap('hello', { message: 'three' }));
    await daemon.waitForEvent(isEvent('push', { source: 'app', data: { version: '1.0.2' } }), from);
    await writeWeb('w2');
    await daemon.waitForEvent(isEvent('push', { source: 'web', data: { version: '1.0.1' } }), from);
    await vi.waitFor(() => expect([view.tag('app'), view.tag('web')]).toEqual(['1.0.2', '1.0.1']), WAIT);

    // A tag patch makes the source-controller fetch the new tag (as in Flux); the Kustomization must not apply it.
    await vi.waitFor(() => {
      expect(view.sourceRevision('app')).toMatch(/^1\.0\.2@/);
      expect(view.sourceRevision('web')).toMatch(/^1\.0\.1@/);
    }, WAIT);
    const status = await daemon.status();
    for (const source of status.sources) expect(source.pendingRequests).toHaveLength(1);
    expect(daemon.eventsSince(from, (event) => event.type === 'reconcile-started')).toEqual([]);
    expect({ app: view.lastAppliedRevision('app'), web: view.lastAppliedRevision('web') }).toEqual(applied);
    expect([message('hello'), message('web')]).toEqual(['one', 'w1']);

    const trigger = daemon.mark();
    const result = await runCli(['reconcile', '--wait', '--json', '--config', project.configPath], {
      dir: project.dir,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const { requests } = JSON.parse(result.stdout) as ReconcileResponse & { daemon: boolean };
    expect(requests.map((request) => request.sources)).toEqual([['app'], ['web']]);
    expect(requests.map((request) => request.outcome)).toEqual(['succeeded', 'succeeded']);
    expect(requests.map((request) => request.results[0]?.revision?.split('@')[0])).toEqual([
      '1.0.2',
      '1.0.1',
    ]);
    // Exactly one request per source ran: the two saves of app merged into one.
    const started = daemon.eventsSince(trigger, (event) => event.type === 'reconcile-started');
    expect(started.map((event) => event.source).sort()).toEqual(['app', 'web']);
    expect(new Set(started.map((event) => event.data.id))).toEqual(new Set(requests.map((r) => r.id)));
    expect(status.sources.flatMap((source) => source.pendingRequests).sort()).toEqual(
      requests.map((request) => request.id).sort(),
    );

    expect([message('hello'), message('web')]).toEqual(['three', 'w2']);
    expect(view.lastAppliedRevision('app')).toMatch(/^1\.0\.2@/);
    expect(view.lastAppliedRevision('web')).toMatch(/^1\.0\.1@/);
    expect(daemon.eventsSince(trigger, (event) => event.type === 'reconcile-started')).toHaveLength(2);
  });
  it('SIGHUP adds and removes sources without a restart, and names a setting that needs one', async () => {
    await mkdir(join(project.dir, 'extra'));
    await writeFile(join(project.dir, 'extra', 'kustomization.yaml'), KUSTOMIZATION);
    await writeFile(join(project.dir, 'extra', 'configmap.yaml'), configMap('extra', { message: 'x1' }));
    const config = parse(await readFile(project.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(
      project.configPath,
      stringify({
        ...config,
        flux: { ...(config.flux as object), namespace: 'elsewhere' },
        sources: [
          { name: 'web', path: './web', targetNamespace: 'default' },
          { name: 'extra', path: './extra', targetNamespace: 'default' },
        ],
      }),
    );
    const from = daemon.mark();
    process.kill(daemon.pid, 'SIGHUP');

    const reloaded = await daemon.waitForEvent((event) => event.type === 'config-reloaded', from);
    expect(reloaded.data).toMatchObject({
      added: ['extra'],
      removed: ['app'],
      changed: [],
      needsRestart: ['flux.namespace'],
    });
    expect(daemon.logs.some((line) => line.message === 'config settings need a restart to take effect')).toBe(
      true,
    );
    await daemon.waitForEvent(isEvent('push', { source: 'extra', data: { version: '1.0.0' } }), from);
    const status = await daemon.status();
    expect(status.pid).toBe(daemon.pid); // the same process
    expect(status.sources.map((source) => source.name).sort()).toEqual(['extra', 'web']);
    // The running Flux namespace is kept until a restart: the new source's objects are where the others are.
    await vi.waitFor(() => expect(view.tag('extra')).toBe('1.0.0'), WAIT);

    // The removed source is no longer watched: its save changes nothing, while a later save of extra is pushed.
    const after = daemon.mark();
    await project.write('configmap.yaml', configMap('hello', { message: 'not watched' }));
    await writeFile(join(project.dir, 'extra', 'configmap.yaml'), configMap('extra', { message: 'x2' }));
    await daemon.waitForEvent(isEvent('push', { source: 'extra', data: { version: '1.0.1' } }), after);
    expect(daemon.eventsSince(after, (event) => event.source === 'app')).toEqual([]);
  });
});
