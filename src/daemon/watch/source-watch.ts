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
  polling: boolean;

  constructor(options: SourceWatchOptions) {
    this.options = options;
    this.polling = options.usePolling;
  }

  start(): Promise<void> {
    return this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
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

  private onEvent(kind: WatchEventKind, path: string): void {
    if (this.closed) return;
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
