import type { Clock } from '../../clock.js';
import { backoffDelay, type RetryPolicy } from '../../retry.js';
import type { ResolvedSource } from '../../config/schema.js';
import { KsailError, describeError, isKsailError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Publisher } from '../../publish/publisher.js';
import type { PublishRequest, PublishResult } from '../../publish/publish-types.js';
import { ManifestProblemView, type SourceStatus } from '../control/control-types.js';
import { createDebouncer, type Debouncer, type FireReason } from '../watch/debounce.js';
import type { EventBus } from '../event-bus.js';

/**
 * Failures that only an edit can fix: retrying would push nothing new, so the source waits for the next save.
 * Everything else (registry down, HTTP errors, bugs) is retried with backoff, rebuilding from disk each time.
 */
const CONTENT_ERRORS: readonly ErrorCode[] = [
  'manifest-invalid',
  'source-empty',
  'source-not-found',
  'unsafe-path',
  'file-name-invalid',
  'version-invalid',
  'model-invalid',
];

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, maxMs: 30_000 };

export interface PipelineOptions {
  source: ResolvedSource;
  publisher: Publisher;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  /** The quiet period of a lone save, the longest one while a burst goes on, and the cap (see debounce.ts). */
  quietMs: number;
  burstQuietMs: number;
  maxWaitMs: number;
  isPaused(): boolean;
  /** After each successful run, before the next one starts; `first` for the first success of this pipeline. */
  onPublished(result: PublishResult, first: boolean): void;
  /** After each failed run. */
  onFailed?(error: unknown): void;
  retry?: RetryPolicy;
}

export type PipelineSnapshot = Pick<
  SourceStatus,
  'lastVersion' | 'digest' | 'layerDigest' | 'pushedAt' | 'state' | 'lastError' | 'problems'
>;

interface Waiter {
  request: PublishRequest;
  resolve(result: PublishResult): void;
  reject(error: unknown): void;
}

const requestKey = (request: PublishRequest): string => `${request.bump ?? ''}|${request.version ?? ''}`;

const stopping = (source: string): KsailError =>
  new KsailError('aborted', `the daemon is stopping or source ${source} was removed; push again`, {
    details: { source },
  });

/**
 * One source's change handling (issue #5). File events only wake it: a quiet period with a cap batches bursts,
 * and the run decides on content (`publishSource` compares layer digests). One run at a time; anything that
 * arrives during a run sets a dirty flag, which causes exactly one follow-up run.
 */
export class SourcePipeline {
  readonly source: ResolvedSource;
  private readonly options: PipelineOptions;
  private readonly debouncer: Debouncer;
  private running: Promise<void> | undefined;
  /** What the run in flight is doing, for status. */
  private phase: 'building' | 'pushing' = 'building';
  private dirty = false;
  /** The follow-up run comes from maxWait: it must push even if events keep arriving. */
  private capped = false;
  /** File events arrived during the run in flight: what it read may be half-written. */
  private changedDuringRun = false;
  /** The follow-up run was asked for explicitly, so it goes ahead even while paused. */
  private forced = false;
  private closed = false;
  private cancelRetry: (() => void) | undefined;
  private retryAttempt = 0;
  private published = false;
  private lastError: string | undefined;
  /** The `file:line:column` problems of a manifest-invalid lastError (validateManifests' details). */
  private problems: ManifestProblemView[] | undefined;
  private last: { version?: string; digest?: string; layerDigest?: string; pushedAt?: string } = {};
  /** Explicit pushes (`POST /v1/push` with wait) waiting for a run that starts after they asked. */
  private waiters: Waiter[] = [];

  constructor(options: PipelineOptions) {
    this.options = options;
    this.source = options.source;
    this.debouncer = createDebouncer({
      quietMs: options.quietMs,
      burstQuietMs: options.burstQuietMs,
      maxWaitMs: options.maxWaitMs,
      clock: options.clock,
      onFire: (reason) => this.trigger(false, reason),
    });
  }

  /** A file event: wakes the pipeline after the quiet period. */
  notify(event: string, path: string): void {
    if (this.closed) return;
    if (this.running) this.changedDuringRun = true;
    this.options.bus.emit('change', this.source.name, { event, path });
    this.debouncer.poke();
  }

  /**
   * Runs now (start-up, resume, retry, the quiet period ending). When paused the change is only recorded, unless
   * `force` (an explicit `push`); during a run it becomes the one follow-up run. A run is dropped (tags nothing)
   * when file events arrive while it reads, unless `reason` is maxWait: a file rewritten without pause still ships.
   */
  trigger(force = false, reason?: FireReason): void {
    if (this.closed) return;
    if (this.running || (!force && this.options.isPaused())) {
      this.dirty = true;
      this.forced ||= force && this.running !== undefined;
      this.capped ||= reason === 'max-wait';
      return;
    }
    const droppable = reason !== 'max-wait' && !this.capped;
    // This run reads the disk after every event so far, so pending wake-ups are satisfied by it.
    this.debouncer.cancel();
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    this.dirty = false;
    this.forced = false;
    this.capped = false;
    this.changedDuringRun = false;
    this.running = this.run(droppable)
      .catch((error: unknown) => {
        this.options.logger.error('pipeline failed', { error: describeError(error) });
      })
      .finally(() => {
        this.running = undefined;
        if (this.dirty || this.waiters.length > 0) this.trigger(this.forced || this.waiters.length > 0);
      });
  }

  /**
   * An explicit push (`ksail-fluxd push` while the daemon runs, issue #13): resolves with the result of a run that
   * starts after this call, so it reads the disk as it is now, through this pipeline, so that the daemon and the
   * command never push beside each other. A failure rejects; the pipeline retries it as usual.
   */
  publishNow(request: PublishRequest = {}): Promise<PublishResult> {
    if (this.closed) return Promise.reject(stopping(this.source.name));
    return new Promise((resolve, reject) => {
      this.waiters.push({ request, resolve, reject });
      this.trigger(true);
    });
  }

  /** After resume: run the sources that changed while paused. */
  resume(): void {
    if (this.dirty && !this.running) this.trigger();
  }

  snapshot(): PipelineSnapshot {
    return {
      ...(this.last.version ? { lastVersion: this.last.version } : {}),
      ...(this.last.digest ? { digest: this.last.digest } : {}),
      ...(this.last.layerDigest ? { layerDigest: this.last.layerDigest } : {}),
      ...(this.last.pushedAt ? { pushedAt: this.last.pushedAt } : {}),
      state: this.state(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastError && this.problems ? { problems: this.problems.map((p) => ({ ...p })) } : {}),
    };
  }

  /** The last version known in the registry (pushed or found unchanged). */
  get version(): { tag: string; digest: string } | undefined {
    return this.last.version && this.last.digest
      ? { tag: this.last.version, digest: this.last.digest }
      : undefined;
  }

  /** Stops scheduling; resolves when the run in flight (if any) has finished. */
  async close(): Promise<void> {
    this.closed = true;
    this.debouncer.cancel();
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    await this.running;
    for (const waiter of this.waiters.splice(0)) waiter.reject(stopping(this.source.name));
  }

  private state(): SourceStatus['state'] {
    if (this.running) return this.phase;
    if (this.options.isPaused()) return 'paused';
    if (this.cancelRetry) return 'retrying';
    if (this.debouncer.pending || this.dirty) return 'waiting';
    return this.lastError ? 'error' : 'idle';
  }

  private async run(droppable: boolean): Promise<void> {
    const { bus, source } = this.options;
    bus.emit('build', source.name, { path: source.absolutePath });
    this.phase = 'building';
    const batch = this.takeBatch();
    let result: PublishResult;
    try {
      result = await this.options.publisher.publish(
        source,
        {
          onPushing: () => (this.phase = 'pushing'),
          // An explicit push ships what is on disk now: the user asked for it, and is waiting.
          superseded: () => droppable && batch.length === 0 && this.changedDuringRun,
        },
        batch[0]?.request,
      );
    } catch (error) {
      this.fail(error);
      batch.forEach((waiter) => waiter.reject(error));
      return;
    }
    if (result.outcome === 'dropped') {
      // The events that dropped it have woken the debouncer: the next run reads the files once they are quiet.
      bus.emit('dropped', source.name, { layerDigest: result.layerDigest, elapsedMs: result.elapsedMs });
      return;
    }
    this.retryAttempt = 0;
    this.lastError = undefined;
    const data = {
      version: result.version,
      digest: result.manifestDigest,
      layerDigest: result.layerDigest,
      files: result.fileCount,
      size: result.size,
      elapsedMs: result.elapsedMs,
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    };
    if (result.outcome === 'pushed') {
      this.last = {
        ...(result.version ? { version: result.version } : {}),
        ...(result.manifestDigest ? { digest: result.manifestDigest } : {}),
        layerDigest: result.layerDigest,
        pushedAt: new Date(this.options.clock.now()).toISOString(),
      };
      bus.emit('push', source.name, data);
    } else {
      this.last = {
        ...this.last,
        ...(result.version ? { version: result.version } : {}),
        ...(result.manifestDigest ? { digest: result.manifestDigest } : {}),
        layerDigest: result.layerDigest,
      };
      bus.emit('unchanged', source.name, data);
    }
    const first = !this.published;
    this.published = true;
    this.options.onPublished(result, first);
    // After status and the cluster sync know the result, so a `status` right after `push` agrees with it.
    batch.forEach((waiter) => waiter.resolve(result));
  }

  /**
   * The waiters this run answers: the first, and every following one that asks for the same thing (plain pushes
   * share one run; a `--bump` or `--version` gets a run of its own).
   */
  private takeBatch(): Waiter[] {
    const [first] = this.waiters;
    if (!first) return [];
    const key = requestKey(first.request);
    const count = this.waiters.findIndex((waiter) => requestKey(waiter.request) !== key);
    return this.waiters.splice(0, count < 0 ? this.waiters.length : count);
  }

  private fail(error: unknown): void {
    const { bus, source } = this.options;
    this.lastError = describeError(error);
    const problems = isKsailError(error, 'manifest-invalid')
      ? ManifestProblemView.array().safeParse(error.details.problems)
      : undefined;
    this.problems = problems?.success ? problems.data : undefined;
    const code = isKsailError(error) ? error.code : 'internal';
    this.options.onFailed?.(error);
    if (CONTENT_ERRORS.includes(code)) {
      // Wait for the next save: the error stays in status until a run succeeds.
      bus.emit('error', source.name, { code, error: this.lastError });
      return;
    }
    // Closing: a retry timer would hold the process after SIGTERM for the backoff delay (issue 9, §2).
    if (this.closed) {
      bus.emit('error', source.name, { code, error: this.lastError });
      return;
    }
    const retryRule = this.options.retry ?? DEFAULT_RETRY;
    const delayMs = backoffDelay(retryRule, this.retryAttempt);
    this.retryAttempt += 1;
    bus.emit('error', source.name, {
      code,
      error: this.lastError,
      retryInMs: delayMs,
      attempt: this.retryAttempt,
    });
    this.cancelRetry = this.options.clock.after(delayMs, () => {
      this.cancelRetry = undefined;
      this.trigger();
    });
  }
}
