import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
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
  type DaemonProject,
} from './daemon-harness.js';
import { artifactFiles, registryTags } from './daemon-readers.js';

/**
 * The adaptive quiet period (issue #10) with the default watch settings (quietPeriod 50ms, burstQuietPeriod
 * 250ms), through the real watcher on real files and the real registry: a lone save builds after a short wait,
 * and bursts still end in one push of their last state. Without a cluster: what counts here is pushes.
 */
const endpoint = inject('registryEndpoint');
const cleanup = createCleanup();
let project: DaemonProject;
let daemon: DaemonProcess;

const tags = () => registryTags(endpoint, project.repository);
const highestFiles = async (): Promise<Map<string, string>> => {
  const highest = (await tags()).at(-1);
  if (!highest) throw new Error('no version pushed');
  return artifactFiles(endpoint, project.repository, highest);
};
/** Waits until the source is idle: nothing scheduled (no quiet period running) and no build in flight. */
const idle = () =>
  vi.waitFor(async () => expect(await daemon.source('app')).toMatchObject({ state: 'idle' }), WAIT);
/** Writes `count` files, one after the other, each `due(i)` ms after the start (the workload, not a sync). */
const writeOnSchedule = async (
  count: number,
  due: (i: number) => number,
  write: (i: number) => Promise<void>,
): Promise<number> => {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await delay(Math.max(0, started + due(i) - performance.now()));
    await write(i);
  }
  return performance.now() - started;
};

describe('ksail-fluxd start: bursts with the default quiet periods (e2e)', () => {
  beforeAll(() => ensureBuilt());

  beforeEach(async () => {
    // `watch: {}`: the schema's defaults, not the harness's 100 ms.
    project = await createDaemonProject({
      registryPort: registryPort(),
      config: { gitOpsEngine: 'Kubectl', watch: {} },
    });
    cleanup.add(() => project.remove());
    daemon = await startDaemon(project);
    cleanup.add(() => daemon.dispose());
    await vi.waitFor(async () => expect(await tags()).toEqual(['1.0.0']), WAIT);
    await idle();
  });

  afterEach(() => cleanup.run());

  it('pushes at most twice for 100 writes in one second, and the last write wins', async () => {
    const from = daemon.mark();
    await writeOnSchedule(
      100,
      (i) => i * 10,
      (i) => project.write('configmap.yaml', configMap('hello', { message: `burst-${i}` })),
    );
    await daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
    await idle();
    const pushes = daemon.eventsSince(from, isEvent('push', { source: 'app' }));
    expect(pushes.length).toBeGreaterThanOrEqual(1);
    expect(pushes.length).toBeLessThanOrEqual(2);
    expect(await tags()).toHaveLength(1 + pushes.length);
    expect((await highestFiles()).get('configmap.yaml')).toContain('message: burst-99');
  });

  it('pushes exactly once for a git checkout: 200 files over 300 ms with gaps of up to 30 ms', async () => {
    const from = daemon.mark();
    // Bursts of 20 files, 30 ms apart (the gaps), ten of them; the configmap changes last.
    const elapsed = await writeOnSchedule(
      200,
      (i) => Math.floor(i / 20) * 30,
      (i) =>
        i === 199
          ? project.write('configmap.yaml', configMap('hello', { message: 'checked-out' }))
          : project.write(`checkout/cm-${i}.yaml`, configMap(`cm-${i}`, { index: String(i) })),
    );
    await daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
    await idle();
    expect(daemon.eventsSince(from, isEvent('push', { source: 'app' }))).toHaveLength(1);
    expect(await tags()).toEqual(['1.0.0', '1.0.1']);
    const files = await highestFiles();
    expect([...files.keys()].filter((path) => path.startsWith('checkout/'))).toHaveLength(199);
    expect(files.get('configmap.yaml')).toContain('message: checked-out');
    console.info(`e2e checkout: 200 files in ${Math.round(elapsed)} ms → 1 push`);
  });

  it("pushes once for an editor's atomic save (a temp file renamed over the manifest)", async () => {
    const from = daemon.mark();
    const temp = join(project.sourceDir, '.configmap.yaml.save-1234');
    await writeFile(temp, configMap('hello', { message: 'atomic' }));
    await rename(temp, join(project.sourceDir, 'configmap.yaml'));
    await daemon.waitForEvent(isEvent('push', { source: 'app' }), from);
    await idle();
    expect(daemon.eventsSince(from, isEvent('push', { source: 'app' }))).toHaveLength(1);
    expect(await tags()).toEqual(['1.0.0', '1.0.1']);
    const files = await highestFiles();
    expect(files.get('configmap.yaml')).toContain('message: atomic');
    expect([...files.keys()].some((path) => path.includes('save-1234'))).toBe(false);
  });
});
