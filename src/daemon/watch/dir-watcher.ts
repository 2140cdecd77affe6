import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  chokidarWatcherFactory,
  type FileWatcher,
  type WatchEventKind,
  type WatchOptions,
  type WatcherFactory,
} from './file-watcher.js';

interface WatchedDir {
  watcher: FSWatcher;
  /** File name → ctime when last seen (`undefined` until an event made us stat it). */
  files: Map<string, number | undefined>;
  dirs: Set<string>;
}

const childOf = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

const splitPath = (rel: string): { parent: string; name: string } => {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? { parent: '', name: rel } : { parent: rel.slice(0, slash), name: rel.slice(slash + 1) };
};

/** The entry is gone (or its parent became a file) by the time we look: not an error. */
const isGone = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * One non-recursive `fs.watch` per directory. On Linux an inotify watch on a directory also reports writes to
 * the files in it, so this costs one watch per directory where chokidar 5 opens one per file (10,000 files:
 * ~10,200 watches and ~66 MB more RSS). Events only say "look at this name": every event is reconciled against
 * what we last saw (lstat), one at a time, so bursts coalesce and the kind reported is what changed on disk.
 * A file replaced by rename (an editor's atomic save) is still there afterwards, hence one `change`.
 * Symlinks are not followed (artifacts skip them); they are reported as files.
 */
class DirWatcher implements FileWatcher {
  private readonly options: WatchOptions;
  private readonly dirs = new Map<string, WatchedDir>();
  private readonly pending = new Set<string>();
  private draining: Promise<void> | undefined;
  private ready = false;
  private closed = false;

  constructor(options: WatchOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    try {
      await this.addDir('', false);
    } catch (error) {
      await this.close();
      throw error;
    }
    // Events from the initial scan are not reported (the contract): what they saw is in the scan already.
    this.pending.clear();
    this.ready = true;
  }

  close(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    for (const dir of this.dirs.values()) dir.watcher.close();
    this.dirs.clear();
    return Promise.resolve();
  }

  private emit(kind: WatchEventKind, rel: string): void {
    if (this.ready && !this.closed) this.options.onEvent(kind, rel);
  }

  private absolute(rel: string): string {
    return rel === '' ? this.options.directory : join(this.options.directory, rel);
  }

  /** Watches a directory (before listing it, so nothing created in between is missed) and what is below it. */
  private async addDir(rel: string, report: boolean): Promise<void> {
    if (this.closed) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(this.absolute(rel), { persistent: true }, (_event, filename) => {
        // No name (inotify queue overflow and the like): look at everything in this directory again.
        if (filename === null) void this.rescan(rel);
        else this.queue(childOf(rel, filename));
      });
    } catch (error) {
      if (isGone(error)) return;
      throw error;
    }
    watcher.on('error', (error) => {
      // A directory deleted under its watcher: its parent's watcher reports the removal.
      if (!isGone(error)) this.options.onError(toError(error));
    });
    const record: WatchedDir = { watcher, files: new Map(), dirs: new Set() };
    this.dirs.set(rel, record);
    let entries;
    try {
      entries = await readdir(this.absolute(rel), { withFileTypes: true });
    } catch (error) {
      if (isGone(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (this.closed || this.dirs.get(rel) !== record) return;
      const child = childOf(rel, entry.name);
      const isDirectory = entry.isDirectory();
      if (this.options.ignores(child, isDirectory)) continue;
      if (isDirectory) {
        record.dirs.add(entry.name);
        if (report) this.emit('addDir', child);
        await this.addDir(child, report);
      } else {
        record.files.set(entry.name, undefined);
        if (report) this.emit('add', child);
      }
    }
  }

  private removeDir(rel: string): void {
    const record = this.dirs.get(rel);
    this.dirs.delete(rel);
    if (record) {
      record.watcher.close();
      for (const name of record.files.keys()) this.emit('unlink', childOf(rel, name));
      for (const name of record.dirs) this.removeDir(childOf(rel, name));
    }
    const { parent, name } = splitPath(rel);
    this.dirs.get(parent)?.dirs.delete(name);
    this.emit('unlinkDir', rel);
  }

  private async rescan(rel: string): Promise<void> {
    const record = this.dirs.get(rel);
    if (!record) return;
    const names = new Set([...record.files.keys(), ...record.dirs]);
    try {
      for (const name of await readdir(this.absolute(rel))) names.add(name);
    } catch (error) {
      if (!isGone(error)) this.options.onError(toError(error));
    }
    for (const name of names) this.queue(childOf(rel, name));
  }

  private queue(rel: string): void {
    if (this.closed) return;
    this.pending.add(rel);
    // Until the initial scan is done nothing is reconciled: one change at a time, never beside the scan.
    if (this.draining || !this.ready) return;
    this.draining = (async () => {
      try {
        for (const next of this.pending) {
          this.pending.delete(next);
          await this.reconcile(next);
        }
      } finally {
        this.draining = undefined;
      }
    })().catch((error: unknown) => {
      this.options.onError(toError(error));
    });
  }

  /** Compares one path with what we last saw and reports the difference. */
  private async reconcile(rel: string): Promise<void> {
    const { parent: parentRel, name } = splitPath(rel);
    if (!this.dirs.get(parentRel)) return;
    let stats;
    try {
      stats = await lstat(this.absolute(rel));
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    // Re-read: the directory may have gone while we waited.
    const parent = this.dirs.get(parentRel);
    if (this.closed || !parent) return;
    const wasFile = parent.files.has(name);
    const wasDir = parent.dirs.has(name);
    if (stats?.isDirectory() !== true && wasDir) this.removeDir(rel);
    if (stats?.isDirectory() !== false && wasFile) {
      parent.files.delete(name);
      this.emit('unlink', rel);
    }
    if (!stats) return;
    if (stats.isDirectory()) {
      if (wasDir || this.options.ignores(rel, true)) return;
      parent.dirs.add(name);
      this.emit('addDir', rel);
      await this.addDir(rel, true);
      return;
    }
    if (this.options.ignores(rel, false)) return;
    const seen = parent.files.get(name);
    parent.files.set(name, stats.ctimeMs);
    // ctime, not mtime: reads never move it, while writes, renames over the file and `touch` all do.
    if (!wasFile) this.emit('add', rel);
    else if (seen !== stats.ctimeMs) this.emit('change', rel);
  }
}

/**
 * The daemon's watcher: directory watches on Linux; chokidar for polling (`watch.usePolling`, and the fallback
 * when inotify runs out) and on other platforms, where a directory watch is not documented to report file writes.
 */
export const dirWatcherFactory: WatcherFactory = async (options) => {
  if (options.usePolling || process.platform !== 'linux') return chokidarWatcherFactory(options);
  const watcher = new DirWatcher(options);
  await watcher.start();
  return watcher;
};
