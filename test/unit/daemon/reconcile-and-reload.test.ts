import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedConfig } from '../../../src/config/schema.js';
import { createSilentLogger } from '../../../src/logger.js';
import { makeConfig, makeHarness, RUNNING_REGISTRY, type Harness } from './fakes.js';

let harness: Harness | undefined;

const start = async (names: string[], raw: Record<string, unknown> = {}, reload?: () => ResolvedConfig) => {
  harness = makeHarness(
    makeConfig(names, raw),
    reload ? { reloadConfig: () => Promise.resolve(reload()) } : {},
  );
  await harness.daemon.start();
  await vi.advanceTimersByTimeAsync(0);
  return harness;
};

const save = async (h: Harness, source: string, content: string): Promise<void> => {
  h.publisher.content.set(source, content);
  h.watchers.emit(source);
  await vi.advanceTimersByTimeAsync(250);
};

describe('manual mode', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('holds requests until a trigger, merging those for the same source into one', async () => {
    const h = await start(['app', 'infra'], { flux: { mode: 'Manual' } });
    await save(h, 'app', 'v2');
    await save(h, 'app', 'v3');
    await save(h, 'infra', 'v2');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.flux.reconciled).toEqual([]);
    // The tag moves at once; only the reconcile waits.
    expect(h.flux.patched.filter((patch) => patch.source === 'app').at(-1)).toEqual({
      source: 'app',
      version: '1.0.2',
    });
    const status = h.daemon.control.status();
    const app = status.sources.find((source) => source.name === 'app')!;
    expect(app.pendingRequests).toHaveLength(1);
    const pending = h.daemon.control.request(app.pendingRequests[0]!);
    expect(pending).toMatchObject({ outcome: 'pending', mode: 'Manual', sources: ['app'] });

    const response = await h.daemon.control.reconcile({ sources: [], wait: true });
    expect(response.requests.map((request) => [request.sources, request.outcome])).toEqual([
      [['app'], 'succeeded'],
      [['infra'], 'succeeded'],
    ]);
    expect(h.flux.reconciled).toHaveLength(2);
    expect(h.flux.reconciled.find((request) => request.id === app.pendingRequests[0])?.expected).toEqual({
      app: { tag: '1.0.2', digest: 'sha256:m-1.0.2' },
    });
    expect(h.daemon.control.status().sources.every((source) => source.pendingRequests.length === 0)).toBe(
      true,
    );
  });

  it('a trigger with nothing pending still reconciles the named source, at its current version', async () => {
    const h = await start(['app', 'infra'], { flux: { mode: 'Manual' } });
    // Start-up pushed 1.0.0 of each: reconcile only app.
    const first = await h.daemon.control.reconcile({ sources: ['app'], wait: true });
    expect(first.requests).toHaveLength(1);
    const again = await h.daemon.control.reconcile({ sources: ['app'], wait: true });
    expect(again.requests[0]).toMatchObject({ sources: ['app'], outcome: 'succeeded' });
    expect(again.requests[0]?.id).not.toBe(first.requests[0]?.id);
    expect(h.flux.reconciled.at(-1)?.expected).toEqual({ app: { tag: '1.0.0', digest: 'sha256:m-1.0.0' } });
    expect(h.flux.reconciled.map((request) => request.targets[0]?.name)).toEqual(['app', 'app']);
  });

  it('without wait, reconcile returns the queued requests at once', async () => {
    const h = await start(['app'], { flux: { mode: 'Manual' } });
    h.flux.reachable = false;
    const response = await h.daemon.control.reconcile({ sources: [], wait: false });
    expect(response.requests[0]?.outcome).toMatch(/pending|running/);
    h.flux.reachable = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.daemon.control.request(response.requests[0]!.id)?.outcome).toBe('succeeded');
  });

  it('runs at most flux.concurrency requests at once', async () => {
    const h = await start(['a', 'b', 'c', 'd'], { flux: { mode: 'Manual', concurrency: 2 } });
    let open = (): void => undefined;
    h.flux.gate = new Promise((resolve) => (open = resolve));
    const response = h.daemon.control.reconcile({ sources: [], wait: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.flux.inFlight).toBe(2);
    open();
    expect((await response).requests.map((request) => request.outcome)).toEqual(Array(4).fill('succeeded'));
    expect(h.flux.maxInFlight).toBe(2);
  });

  it('keeps a bounded list of recent requests', async () => {
    const h = await start(['app']);
    for (let i = 0; i < 60; i++) await h.daemon.control.reconcile({ sources: [], wait: true });
    expect(h.daemon.control.status().recentRequests).toHaveLength(50);
  });
});

describe('config reload and watching', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('adds and removes sources, and recreates a source whose settings changed', async () => {
    let next = makeConfig(['app', 'infra']);
    const h = await start(['app', 'infra'], {}, () => next);
    next = makeConfig(['app', 'extra']);
    next.sources[0]!.ignore = ['*.md'];
    await h.daemon.reload();
    await vi.advanceTimersByTimeAsync(0);
    expect(
      h.daemon.control
        .status()
        .sources.map((source) => source.name)
        .sort(),
    ).toEqual(['app', 'extra']);
    expect([...h.watchers.active.keys()].sort()).toEqual(['/srv/test/app', '/srv/test/extra']);
    expect(h.ofType('config-reloaded')[0]?.data).toMatchObject({
      added: ['extra'],
      removed: ['infra'],
      changed: ['app'],
    });
    // The new source is compared with the registry at once; the recreated one too.
    expect(h.publisher.calls.slice(2).sort()).toEqual(['app', 'extra']);
    expect(() => h.watchers.emit('infra')).toThrow(/no watcher/);
    // The removed source and the replaced one free their build caches at once; closing frees the rest.
    expect([...h.publisher.forgotten].sort()).toEqual(['app', 'infra']);
    await h.daemon.close();
    expect([...h.publisher.forgotten].sort()).toEqual(['app', 'app', 'extra', 'infra']);
  });

  it('applies the mode and log level, and names the settings that need a restart, keeping their running values', async () => {
    const logger = createSilentLogger();
    logger.level = 'info';
    harness = makeHarness(makeConfig(['app']), {
      logger,
      reloadConfig: () =>
        Promise.resolve(
          makeConfig(['app'], {
            registryPort: 5999,
            flux: { namespace: 'other', mode: 'Manual' },
            log: { level: 'debug' },
          }),
        ),
    });
    await harness.daemon.start();
    await harness.daemon.reload();
    expect(logger.level).toBe('debug');
    const status = harness.daemon.control.status();
    expect(status.mode).toBe('Manual');
    expect(status.registry.endpoint).toBe('localhost:5050'); // the registry it runs, not the reloaded port
    expect(harness.ofType('config-reloaded')[0]?.data).toMatchObject({
      needsRestart: ['registryPort', 'flux.namespace'],
      changed: [],
    });
  });

  it('a reload without such changes names none', async () => {
    await start(['app'], {}, () => makeConfig(['app']));
    await harness!.daemon.reload();
    expect(harness!.ofType('config-reloaded')[0]?.data).not.toHaveProperty('needsRestart');
  });

  it('a reload during start-up waits for the start, so no source is watched twice', async () => {
    let ensured!: () => void;
    const registryReady = new Promise<void>((resolve) => (ensured = resolve));
    harness = makeHarness(makeConfig(['app']), {
      ensureRegistry: async () => {
        await registryReady;
        return RUNNING_REGISTRY;
      },
      reloadConfig: () => Promise.resolve(makeConfig(['app', 'extra'])),
    });
    const started = harness.daemon.start();
    const reloaded = harness.daemon.reload();
    await vi.advanceTimersByTimeAsync(0);
    ensured();
    await started;
    await reloaded;
    expect(harness.watchers.opened.map((watch) => watch.directory).sort()).toEqual([
      '/srv/test/app',
      '/srv/test/extra',
    ]);
    expect(harness.ofType('config-reloaded')[0]?.data).toMatchObject({ added: ['extra'], removed: [] });
  });

  it('keeps the running config when the reload fails', async () => {
    harness = makeHarness(makeConfig(['app']), { reloadConfig: () => Promise.reject(new Error('bad yaml')) });
    await harness.daemon.start();
    await harness.daemon.reload();
    expect(harness.daemon.control.status().sources.map((source) => source.name)).toEqual(['app']);
    expect(harness.ofType('error').at(-1)?.data.error).toMatch(/keeping the running config: bad yaml/);
  });

  it('switches a source to polling when inotify runs out (ENOSPC), at start and later', async () => {
    harness = makeHarness(makeConfig(['app', 'infra']));
    harness.watchers.limit = true;
    await harness.daemon.start();
    expect(harness.watchers.opened).toEqual(
      expect.arrayContaining([
        { directory: '/srv/test/app', usePolling: false },
        { directory: '/srv/test/app', usePolling: true },
      ]),
    );
    expect(harness.watchers.active.get('/srv/test/app')?.usePolling).toBe(true);

    harness.watchers.limit = false;
    await harness.daemon.close();
    harness = makeHarness(makeConfig(['app']));
    await harness.daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(harness.watchers.active.get('/srv/test/app')?.usePolling).toBe(false);
    harness.watchers.error(
      'app',
      Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(harness.watchers.active.get('/srv/test/app')?.usePolling).toBe(true);
    // A save still arrives through the polling watcher.
    harness.publisher.content.set('app', 'v2');
    harness.watchers.emit('app');
    await vi.advanceTimersByTimeAsync(250);
    expect(harness.publisher.pushed.at(-1)).toMatchObject({ content: 'v2' });
  });

  it('watch.usePolling forces polling', async () => {
    await start(['app'], { watch: { usePolling: true } });
    expect(harness!.watchers.opened).toEqual([{ directory: '/srv/test/app', usePolling: true }]);
  });
});
