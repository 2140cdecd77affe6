import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIgnoreMatcher } from '../../../src/artifact/ignore.js';
import { systemClock } from '../../../src/clock.js';
import { createEventBus } from '../../../src/daemon/event-bus.js';
import { dirWatcherFactory } from '../../../src/daemon/watch/dir-watcher.js';
import { chokidarWatcherFactory, type WatcherFactory } from '../../../src/daemon/watch/file-watcher.js';
import { handleSignals } from '../../../src/daemon/signals.js';
import { SourceWatch, watchLimitHint } from '../../../src/daemon/watch/source-watch.js';
import { watchRoot } from '../../../src/daemon/watch/root-guard.js';
import { createSilentLogger } from '../../../src/logger.js';
import { makeConfig } from './fakes.js';
import { EventEmitter } from 'node:events';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

/** A real directory watched through SourceWatch by the given watcher, with the artifact's ignore rules. */
const watchDir = async (
  watcherFactory: WatcherFactory,
  options: { ignore?: string[]; usePolling?: boolean; files?: Record<string, string> } = {},
) => {
  const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-watch-'));
  for (const [path, content] of Object.entries(options.files ?? {})) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const [base] = makeConfig(['app']).sources;
  const source = { ...base!, absolutePath: dir, ignore: options.ignore ?? [] };
  const seen: string[] = [];
  const logger = createSilentLogger();
  const watch = new SourceWatch({
    source,
    usePolling: options.usePolling ?? false,
    watcherFactory,
    ignoreMatcher: createIgnoreMatcher,
    logger,
    bus: createEventBus({ clock: systemClock, logger }),
    onChange: (kind, path) => seen.push(`${kind} ${path}`),
  });
  await watch.start();
  cleanup.push(async () => {
    await watch.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, seen, watch };
};

// The daemon's watcher (directory watches on Linux) and plain chokidar: SourceWatch must behave the same on both.
describe.each([
  { name: 'dirWatcherFactory', factory: dirWatcherFactory },
  { name: 'chokidar', factory: chokidarWatcherFactory },
])('SourceWatch with $name', ({ factory }) => {
  it('reports saves of manifests and skips what the artifact ignores', async () => {
    const { dir, seen } = await watchDir(factory, {
      ignore: ['*.md'],
      files: { 'deploy.yaml': 'a: 1\n', '.sourceignore': 'secret/\n', 'secret/x.yaml': 'b: 1\n' },
    });
    expect(seen).toEqual([]); // ignoreInitial
    await writeFile(join(dir, '.deploy.yaml.swp'), 'swap');
    await writeFile(join(dir, 'notes.md'), '# notes');
    await writeFile(join(dir, 'secret', 'x.yaml'), 'b: 2\n');
    await writeFile(join(dir, 'logo.png'), 'png');
    await writeFile(join(dir, 'deploy.yaml'), 'a: 2\n');
    await vi.waitFor(() => expect(seen).toContain('change deploy.yaml'), { timeout: 10_000 });
    await writeFile(join(dir, 'service.yaml'), 'c: 1\n');
    await vi.waitFor(() => expect(seen).toContain('add service.yaml'), { timeout: 10_000 });
    expect(seen.filter((line) => /swp|notes|secret|png/.test(line))).toEqual([]);
  });

  it('re-reads the ignore rules when a .sourceignore changes', async () => {
    const { dir, seen } = await watchDir(factory, { files: { 'deploy.yaml': 'a: 1\n' } });
    await writeFile(join(dir, '.sourceignore'), 'draft.yaml\n');
    await vi.waitFor(() => expect(seen).toContain('add .sourceignore'), { timeout: 10_000 });
    // The restarted watcher wakes the pipeline once, so saves during the restart are not lost.
    await vi.waitFor(() => expect(seen).toContain('change '), { timeout: 10_000 });
    await writeFile(join(dir, 'draft.yaml'), 'x: 1\n');
    await writeFile(join(dir, 'deploy.yaml'), 'a: 3\n');
    await vi.waitFor(() => expect(seen).toContain('change deploy.yaml'), { timeout: 10_000 });
    expect(seen.some((line) => line.includes('draft.yaml'))).toBe(false);
  });

  it('polls when asked to', async () => {
    const { dir, seen, watch } = await watchDir(factory, {
      usePolling: true,
      files: { 'deploy.yaml': 'a: 1\n' },
    });
    expect(watch.polling).toBe(true);
    await writeFile(join(dir, 'deploy.yaml'), 'a: 2\n');
    await vi.waitFor(() => expect(seen).toContain('change deploy.yaml'), { timeout: 10_000 });
  });
});

describe('watchLimitHint', () => {
  it('names the sysctl or ulimit to raise when watches run out', () => {
    expect(watchLimitHint(Object.assign(new Error('x'), { code: 'ENOSPC' }))).toContain(
      'sudo sysctl fs.inotify.max_user_watches=524288',
    );
    expect(watchLimitHint(Object.assign(new Error('x'), { code: 'EMFILE' }))).toContain('ulimit -n');
  });
});

describe('handleSignals', () => {
  it('stops once on SIGTERM or SIGINT, forces on the second, reloads on SIGHUP, and removes its handlers', () => {
    const target = new EventEmitter();
    const calls: string[] = [];
    const remove = handleSignals(target, {
      stop: (signal) => calls.push(`stop ${signal}`),
      force: (signal) => calls.push(`force ${signal}`),
      reload: () => calls.push('reload'),
    });
    target.emit('SIGHUP');
    target.emit('SIGINT');
    target.emit('SIGTERM');
    expect(calls).toEqual(['reload', 'stop SIGINT', 'force SIGTERM']);
    remove();
    expect(
      target.listenerCount('SIGTERM') + target.listenerCount('SIGINT') + target.listenerCount('SIGHUP'),
    ).toBe(0);
  });
});

/** Issue 9, §1.3: the source directory itself comes and goes (real files, the daemon's watchers). */
describe.each([
  { name: 'dirWatcherFactory', factory: dirWatcherFactory },
  { name: 'chokidar', factory: chokidarWatcherFactory },
])('SourceWatch with a root guard and $name', { timeout: 30_000 }, ({ factory }) => {
  const guarded = async () => {
    const parent = await mkdtemp(join(tmpdir(), 'ksail-fluxd-root-'));
    const dir = join(parent, 'nested', 'app');
    const [base] = makeConfig(['app']).sources;
    const seen: string[] = [];
    const logger = createSilentLogger();
    const watch = new SourceWatch({
      source: { ...base!, absolutePath: dir, ignore: [] },
      usePolling: false,
      watcherFactory: factory,
      ignoreMatcher: createIgnoreMatcher,
      rootGuard: watchRoot,
      logger,
      bus: createEventBus({ clock: systemClock, logger }),
      onChange: (kind, path) => seen.push(`${kind} ${path}`),
    });
    cleanup.push(async () => {
      await watch.close();
      await rm(parent, { recursive: true, force: true });
    });
    return { dir, seen, watch };
  };

  it('picks up a source directory that does not exist at start-up, and then its files', async () => {
    const { dir, seen, watch } = await guarded();
    await watch.start();
    await mkdir(dir, { recursive: true });
    await vi.waitFor(() => expect(seen).toContain('addDir '), { timeout: 10_000 });
    await writeFile(join(dir, 'cm.yaml'), 'a: 1\n');
    await vi.waitFor(() => expect(seen.some((entry) => entry.endsWith(' cm.yaml'))).toBe(true), {
      timeout: 10_000,
    });
  });

  it('follows a source directory that is deleted and re-created', async () => {
    const { dir, seen, watch } = await guarded();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'cm.yaml'), 'a: 1\n');
    await watch.start();
    await rm(dir, { recursive: true, force: true });
    await vi.waitFor(() => expect(seen).toContain('unlinkDir '), { timeout: 10_000 });
    await mkdir(dir);
    await vi.waitFor(() => expect(seen).toContain('addDir '), { timeout: 10_000 });
    seen.length = 0;
    await writeFile(join(dir, 'new.yaml'), 'b: 2\n');
    await vi.waitFor(() => expect(seen.some((entry) => entry.endsWith(' new.yaml'))).toBe(true), {
      timeout: 10_000,
    });
  });

  it('sees a delete and re-create that happen before it looks (the inode changed)', async () => {
    const { dir, seen, watch } = await guarded();
    await mkdir(dir, { recursive: true });
    await watch.start();
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await vi.waitFor(() => expect(seen.some((entry) => entry === 'addDir ')).toBe(true), { timeout: 10_000 });
    seen.length = 0;
    await writeFile(join(dir, 'after.yaml'), 'c: 3\n');
    await vi.waitFor(() => expect(seen.some((entry) => entry.endsWith(' after.yaml'))).toBe(true), {
      timeout: 10_000,
    });
  });
});
