import { watch } from 'chokidar';
import { relative, sep } from 'node:path';

export type WatchEventKind = 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';

export interface WatchOptions {
  /** Absolute directory to watch, recursively. */
  directory: string;
  usePolling: boolean;
  /** Whether a path (relative to `directory`, `/`-separated) is left out; `isDirectory` is undefined when unknown. */
  ignores(relativePosixPath: string, isDirectory: boolean | undefined): boolean;
  onEvent(kind: WatchEventKind, relativePosixPath: string): void;
  onError(error: Error): void;
}

export interface FileWatcher {
  close(): Promise<void>;
}

/** Starts watching; resolves once the initial scan is done (events before that are not reported). */
export type WatcherFactory = (options: WatchOptions) => Promise<FileWatcher>;

export const toRelativePosix = (directory: string, path: string): string => {
  const rel = relative(directory, path);
  return sep === '/' ? rel : rel.split(sep).join('/');
};

/** The kernel's inotify limits (ENOSPC) or the open-file limit (EMFILE): polling still works. */
export const isWatchLimitError = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EMFILE';
};

/**
 * chokidar 5. `ignoreInitial` because start-up compares content with the registry anyway; no `awaitWriteFinish`
 * because the pipeline debounces and decides on content; `atomic` keeps its default (on unless polling) so an
 * editor's write-rename save is one `change`.
 */
export const chokidarWatcherFactory: WatcherFactory = (options) =>
  new Promise((resolve, reject) => {
    const { directory } = options;
    const watcher = watch(directory, {
      ignoreInitial: true,
      usePolling: options.usePolling,
      ignored: (path, stats) => {
        const rel = toRelativePosix(directory, path);
        if (rel === '' || rel.startsWith('..')) return false;
        return options.ignores(rel, stats ? stats.isDirectory() : undefined);
      },
    });
    let settled = false;
    watcher.on('all', (kind, path) => {
      if (
        kind === 'add' ||
        kind === 'change' ||
        kind === 'unlink' ||
        kind === 'addDir' ||
        kind === 'unlinkDir'
      ) {
        options.onEvent(kind, toRelativePosix(directory, path));
      }
    });
    watcher.on('error', (error) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (!settled && isWatchLimitError(failure)) {
        // Out of watches while adding the first ones: the caller falls back to polling.
        settled = true;
        void watcher.close().catch(() => undefined);
        reject(failure);
      } else options.onError(failure);
    });
    watcher.on('ready', () => {
      if (settled) return;
      settled = true;
      resolve({ close: () => watcher.close() });
    });
  });
