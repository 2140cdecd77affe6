import { isSourceIgnoreFile } from '../../artifact/ignore.js';
import type { ResolvedSource } from '../../config/schema.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { EventBus } from '../event-bus.js';
import {
  isWatchLimitError,
  type FileWatcher,
  type WatchEventKind,
  type WatcherFactory,
} from './file-watcher.js';
import type { RootChange, RootGuard, RootGuardFactory } from './root-guard.js';

/** The artifact's ignore rules (src/artifact `createIgnoreMatcher`), so the watcher skips what is never packaged. */
export type IgnoreMatcherFactory = (
  sourceDir: string,
  extraPatterns: readonly string[],
) => Promise<{ ignores(relativePosixPath: string, isDirectory: boolean): boolean }>;

export interface SourceWatchOptions {
  source: ResolvedSource;
  usePolling: boolean;
  watcherFactory: WatcherFactory;
  ignoreMatcher: IgnoreMatcherFactory;
  logger: Logger;
  bus: EventBus;
  onChange(kind: WatchEventKind, relativePosixPath: string): void;
  /**
   * Watches the source directory itself, so that one missing at start-up or deleted and re-created is picked up
   * (src/daemon/watch/root-guard.ts). Without it the directory is assumed to stay (tests with a fake watcher).
   */
  rootGuard?: RootGuardFactory;
}

/** What to run when the kernel refuses more watches; logged once per fallback. */
export const watchLimitHint = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code === 'EMFILE'
    ? 'too many open files; raise the limit with "ulimit -n 65536" (or LimitNOFILE= in the systemd unit) and "sudo sysctl fs.inotify.max_user_instances=512"'
    : 'inotify watch limit reached; raise it with "sudo sysctl fs.inotify.max_user_watches=524288" (and fs.inotify.max_user_instances=512), persist it in /etc/sysctl.d/';

/**
 * Watches one source directory. Uses the same ignore rules as the artifact; re-reads them when a `.sourceignore`
 * changes (which paths are watched changes with them). When inotify runs out (ENOSPC, EMFILE) it falls back to
 * polling for this source instead of going blind.
 */
export class SourceWatch {
  private readonly options: SourceWatchOptions;
  private watcher: FileWatcher | undefined;
  private matcher: Awaited<ReturnType<IgnoreMatcherFactory>> | undefined;
  private restarting: Promise<void> | undefined;
  private closed = false;
  private guard: RootGuard | undefined;
  polling: boolean;

  constructor(options: SourceWatchOptions) {
    this.options = options;
    this.polling = options.usePolling;
  }

  async start(): Promise<void> {
    const { rootGuard, source, logger } = this.options;
    if (!rootGuard) return this.open();
    this.guard = await rootGuard(
      source.absolutePath,
      (change) => this.onRootChange(change),
      (error) => this.onError(error),
    );
    if (this.guard.present) return this.open();
    logger.warn('source directory does not exist yet; watching for it', {
      source: source.name,
      path: source.absolutePath,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.guard?.close();
    await this.restarting;
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private async open(): Promise<void> {
    const { source, watcherFactory } = this.options;
    const matcher = await this.options.ignoreMatcher(source.absolutePath, source.ignore);
    this.matcher = matcher;
    let watcher: FileWatcher;
    try {
      watcher = await watcherFactory({
        directory: source.absolutePath,
        usePolling: this.polling,
        ignores: (path, isDirectory) => matcher.ignores(path, isDirectory ?? false),
        onEvent: (kind, path) => this.onEvent(kind, path),
        onError: (error) => this.onError(error),
      });
    } catch (error) {
      if (this.polling || !isWatchLimitError(error)) throw error;
      this.fallBack(error);
      return this.open();
    }
    if (this.closed) await watcher.close();
    else this.watcher = watcher;
  }

  /** The source directory appeared, vanished or was replaced: (re)watch it, and let the pipeline look. */
  private async onRootChange(change: RootChange): Promise<void> {
    if (this.closed) return;
    await this.restarting;
    const { source, logger } = this.options;
    logger.info('source directory changed', { source: source.name, path: source.absolutePath, change });
    await this.watcher?.close();
    this.watcher = undefined;
    if (change !== 'vanished') {
      try {
        await this.open();
      } catch (error) {
        this.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
    // A full run reads the disk: what was written before the new watch started is not lost.
    this.options.onChange(change === 'vanished' ? 'unlinkDir' : 'addDir', '');
  }

  private onEvent(kind: WatchEventKind, path: string): void {
    if (this.closed) return;
    // The root itself (chokidar reports it when the directory is deleted) or a path outside it: the ignore rules
    // take relative paths only, and the root guard handles the directory itself.
    if (path === '' || path.startsWith('/') || path === '..' || path.startsWith('../')) {
      if (path === '') this.options.onChange(kind, path);
      return;
    }
    // The gate for every watcher: inotify reports writes to any file in a watched directory, editor temp files
    // included, and what the artifact leaves out must not wake the pipeline.
    if (this.matcher?.ignores(path, kind === 'addDir' || kind === 'unlinkDir')) return;
    if (isSourceIgnoreFile(path)) this.restart();
    this.options.onChange(kind, path);
  }

  private onError(error: Error): void {
    if (!this.polling && isWatchLimitError(error)) {
      this.fallBack(error);
      this.restart();
      return;
    }
    this.options.bus.emit('error', this.options.source.name, {
      code: 'watch',
      error: describeError(error),
    });
  }

  private fallBack(error: unknown): void {
    this.polling = true;
    this.options.logger.warn('file watch limit reached, polling instead', {
      source: this.options.source.name,
      code: (error as NodeJS.ErrnoException).code,
      hint: watchLimitHint(error),
    });
  }

  private restart(): void {
    if (this.closed || this.restarting) return;
    this.restarting = (async () => {
      await this.watcher?.close();
      this.watcher = undefined;
      if (this.closed) return;
      await this.open();
      // Saves made while no watcher ran would otherwise wait for the next one.
      this.options.onChange('change', '');
    })()
      .catch((error: unknown) => {
        this.options.bus.emit('error', this.options.source.name, {
          code: 'watch',
          error: describeError(error),
        });
      })
      .finally(() => {
        this.restarting = undefined;
      });
  }
}
