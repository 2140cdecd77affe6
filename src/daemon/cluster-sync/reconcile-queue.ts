import { randomBytes } from 'node:crypto';
import PQueue from 'p-queue';
import type { Clock } from '../../clock.js';
import { backoffDelay, type RetryPolicy } from '../../retry.js';
import { describeError, isKsailError, KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  createRequest,
  mergeRequests,
  type ReconcileMode,
  type ReconciliationRequest,
} from '../../model/reconciliation-request.js';
import type { RequestView } from '../control/control-types.js';
import type { ClusterHealth } from './cluster-health.js';
import type { EventBus } from '../event-bus.js';
import type { FluxDriver, ReconcileResult } from './flux-driver-types.js';
import type { PendingPatches } from './pending-patches.js';

type Phase = 'held' | 'queued' | 'running' | 'done';

interface Entry {
  request: ReconciliationRequest;
  view: RequestView;
  phase: Phase;
  done: Promise<void>;
  settle: () => void;
  /** Ends this request's run: the daemon stops, or a newer push supersedes it. */
  abort: AbortController;
  /** The version that overtook this request (it ends `superseded`). */
  supersededBy?: string;
}

export type Expected = { tag: string; digest: string };

export interface ReconcileQueueOptions {
  mode: ReconcileMode;
  concurrency: number;
  /** Namespace of the Flux objects (flux.namespace). */
  namespace: string;
  flux: Pick<FluxDriver, 'reconcile'>;
  patches: Pick<PendingPatches, 'isPending' | 'whenApplied'>;
  cluster: ClusterHealth;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  retry?: RetryPolicy;
  /** How many requests status keeps (finished ones are dropped oldest first). */
  recentLimit?: number;
  newId?: () => string;
}

/** Short ids users type in `ksail-fluxd requests <id>`. */
export const newRequestId = (): string => randomBytes(4).toString('hex');

/**
 * Reconciliation requests (issue #5). Automatic: each push queues one at once. Manual: requests are held, those
 * for the same targets merge into one, and a trigger runs them. A p-queue bounds how many run together; a request
 * waits for its sources' tag patches first, and while the cluster does not answer it is retried, not dropped.
 *
 * Flux collapses requests: a controller records only the requestedAt value it read last, and a Kustomization
 * applies its source's current artifact. So one source has one request running at a time, and a push that
 * overtakes a running request ends it as `superseded` (naming the new version) at once, instead of leaving it to
 * wait for a token or a revision that Flux will never record; the newest request reports what Flux applied.
 */
export class ReconcileQueue {
  private readonly options: ReconcileQueueOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly queue: PQueue;
  private readonly abort = new AbortController();
  private mode: ReconcileMode;

  constructor(options: ReconcileQueueOptions) {
    this.options = options;
    this.mode = options.mode;
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** After a push: queues (Automatic) or holds (Manual) a request, merged into a pending one for the source. */
  submit(source: string, expected?: Expected): RequestView {
    if (expected) this.supersedeRunning(source, expected.tag);
    const entry = this.pendingEntry(source) ?? this.create(source, expected, 'push');
    if (expected && entry.request.expected?.[source]?.tag !== expected.tag) {
      entry.request = mergeRequests(entry.request, { ...entry.request, expected: { [source]: expected } });
      this.options.bus.emit('request-queued', source, { id: entry.view.id, tag: expected.tag, merged: true });
    }
    if (this.mode === 'Automatic') this.enqueue(entry);
    return { ...entry.view };
  }

  /**
   * A reconcile trigger (control API): runs the pending requests of `sources`, and creates one for each source
   * with nothing pending, so a trigger always reconciles what it names. `done` resolves when they all finished.
   */
  trigger(
    sources: readonly string[],
    expectedOf: (source: string) => Expected | undefined,
  ): { ids: string[]; done: Promise<void> } {
    const entries = sources.map((source) => {
      const expected = expectedOf(source);
      // A request already reconciling this very version answers the trigger too; one for an older one is overtaken.
      const running = this.runningEntry(source);
      if (running && expected && running.request.expected?.[source]?.tag === expected.tag) return running;
      if (expected) this.supersedeRunning(source, expected.tag);
      const pending = this.pendingEntry(source);
      // Asked for now: Flux must act on this request, not just have acted on the push by itself.
      if (pending) pending.request = { ...pending.request, origin: 'trigger' };
      return pending ?? this.create(source, expected, 'trigger');
    });
    entries.forEach((entry) => this.enqueue(entry));
    return {
      ids: entries.map((entry) => entry.view.id),
      done: Promise.all(entries.map((entry) => entry.done)).then(() => undefined),
    };
  }

  /** A source left the config: its held requests will never be triggered, so they end now. */
  dropHeld(source: string): void {
    for (const entry of [...this.entries.values()]) {
      if (entry.phase === 'held' && entry.view.sources.includes(source)) {
        this.finish(entry, [], new Error(`source ${source} was removed from the config`));
      }
    }
  }

  setMode(mode: ReconcileMode): void {
    this.mode = mode;
    if (mode === 'Automatic') [...this.entries.values()].forEach((entry) => this.enqueue(entry));
  }

  get(id: string): RequestView | undefined {
    const entry = this.entries.get(id);
    return entry ? copy(entry.view) : undefined;
  }

  /** Newest first. */
  recent(): RequestView[] {
    return [...this.entries.values()].reverse().map((entry) => copy(entry.view));
  }

  /** Ids of the requests of `source` that have not finished. */
  pendingFor(source: string): string[] {
    return [...this.entries.values()]
      .filter((entry) => entry.phase !== 'done' && entry.view.sources.includes(source))
      .map((entry) => entry.view.id);
  }

  /** Stops running requests (the driver gets the abort) and fails the ones that never ran. */
  async close(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new Error('daemon stopping'));
    for (const entry of this.entries.values()) entry.abort.abort(new Error('daemon stopping'));
    this.queue.clear();
    await this.queue.onIdle();
    for (const entry of this.entries.values()) {
      if (entry.phase === 'queued') this.finish(entry, [], new Error('the daemon stopped before it ran'));
    }
  }

  private runningEntry(source: string): Entry | undefined {
    return [...this.entries.values()].find(
      (entry) => entry.phase === 'running' && entry.view.sources.includes(source),
    );
  }

  /** Ends the running request of `source` when it waits for another version than `tag`. */
  private supersedeRunning(source: string, tag: string): void {
    const running = this.runningEntry(source);
    if (!running || running.request.expected?.[source]?.tag === tag) return;
    running.supersededBy = tag;
    running.abort.abort(new KsailError('reconcile-superseded', `superseded by ${tag}`));
  }

  private pendingEntry(source: string): Entry | undefined {
    return [...this.entries.values()].find(
      (entry) => (entry.phase === 'held' || entry.phase === 'queued') && entry.view.sources.includes(source),
    );
  }

  private create(source: string, expected: Expected | undefined, origin: 'push' | 'trigger'): Entry {
    const { namespace, clock } = this.options;
    const request = createRequest({
      id: (this.options.newId ?? newRequestId)(),
      targets: [
        { kind: 'OCIRepository', name: source, namespace },
        { kind: 'Kustomization', name: source, namespace },
      ],
      mode: this.mode,
      requestedAt: new Date(clock.now()).toISOString(),
      ...(expected ? { expected: { [source]: expected } } : {}),
      origin,
    });
    let settle = (): void => undefined;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const view: RequestView = {
      id: request.id,
      sources: [source],
      mode: request.mode,
      requestedAt: request.requestedAt,
      outcome: 'pending',
      results: [],
    };
    const entry: Entry = { request, view, phase: 'held', done, settle, abort: new AbortController() };
    this.entries.set(request.id, entry);
    this.prune();
    this.options.bus.emit('request-queued', source, {
      id: request.id,
      mode: request.mode,
      tag: expected?.tag,
    });
    return entry;
  }

  private enqueue(entry: Entry): void {
    if (entry.phase !== 'held' || this.abort.signal.aborted) return;
    entry.phase = 'queued';
    this.queue
      .add(() => this.execute(entry))
      .catch((error: unknown) => {
        if (entry.phase !== 'done') this.finish(entry, [], error);
      });
  }

  private async execute(entry: Entry): Promise<void> {
    const { patches, flux, cluster, bus, clock } = this.options;
    const signal = AbortSignal.any([this.abort.signal, entry.abort.signal]);
    const names = entry.view.sources;
    for (let attempt = 0; ; attempt += 1) {
      try {
        // Flux must see the new tag first, or it would reconcile the previous version.
        while (patches.isPending(names)) await patches.whenApplied(names, signal);
        // One request per source at a time: two would overwrite each other's requestedAt token.
        await this.othersFinished(entry, signal);
        signal.throwIfAborted();
      } catch (error) {
        this.finish(entry, [], error);
        return;
      }
      entry.phase = 'running';
      const started = clock.now();
      entry.view = { ...entry.view, outcome: 'running', startedAt: new Date(started).toISOString() };
      bus.emit('reconcile-started', names[0], { id: entry.view.id, expected: entry.request.expected });
      try {
        const results = await flux.reconcile(entry.request, signal);
        cluster.markReachable();
        this.finish(entry, results, undefined);
        return;
      } catch (error) {
        if (signal.aborted || !isKsailError(error, 'cluster-unreachable')) {
          this.finish(entry, [], error);
          return;
        }
        cluster.markUnreachable(error);
        // Back to pending: a newer push may still merge into it while the cluster is away.
        entry.phase = 'queued';
        entry.view = { ...entry.view, outcome: 'pending' };
        const retry = this.options.retry ?? { baseMs: 1000, maxMs: 30_000 };
        const delayMs = backoffDelay(retry, attempt);
        bus.emit('error', names[0], {
          code: error.code,
          error: error.message,
          id: entry.view.id,
          retryInMs: delayMs,
        });
        await clock.sleep(delayMs, signal).catch(() => undefined);
      }
    }
  }

  /** Resolves once no other request of the same sources runs. */
  private async othersFinished(entry: Entry, signal: AbortSignal): Promise<void> {
    for (;;) {
      const other = [...this.entries.values()].find(
        (candidate) =>
          candidate !== entry &&
          candidate.phase === 'running' &&
          candidate.view.sources.some((name) => entry.view.sources.includes(name)),
      );
      if (!other) return;
      await Promise.race([
        other.done,
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        ),
      ]);
    }
  }

  private finish(entry: Entry, results: ReconcileResult[], error: unknown): void {
    if (entry.phase === 'done') return;
    const now = this.options.clock.now();
    const supersededBy = overtakenBy(entry, error, results);
    const superseded = supersededBy !== undefined;
    const failed =
      !superseded && (error !== undefined || results.some((result) => result.error !== undefined));
    const started = entry.view.startedAt ? Date.parse(entry.view.startedAt) : undefined;
    entry.phase = 'done';
    entry.view = {
      ...entry.view,
      outcome: superseded ? 'superseded' : failed ? 'failed' : 'succeeded',
      finishedAt: new Date(now).toISOString(),
      ...(started === undefined ? {} : { durationMs: now - started }),
      ...(superseded ? { supersededBy } : {}),
      // A superseded request's cancelled wait is no error of its own.
      results: results
        .filter((result) => !superseded || result.error === undefined)
        .map((result) => ({
          source: result.source,
          ...(result.revision ? { revision: result.revision } : {}),
          ...(result.error ? { error: result.error } : {}),
          ...(result.code ? { code: result.code } : {}),
          ...(result.durations ? { durations: result.durations } : {}),
        })),
      ...(error === undefined || superseded ? {} : { error: describeError(error) }),
    };
    this.options.bus.emit('reconcile-finished', entry.view.sources[0], {
      id: entry.view.id,
      outcome: entry.view.outcome,
      durationMs: entry.view.durationMs,
      results: entry.view.results,
      ...(entry.view.supersededBy ? { supersededBy: entry.view.supersededBy } : {}),
      ...(entry.view.error ? { error: entry.view.error } : {}),
    });
    entry.settle();
    this.prune();
  }

  private prune(): void {
    const limit = this.options.recentLimit ?? 50;
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= limit) return;
      if (entry.phase === 'done') this.entries.delete(id);
    }
  }
}

/** The version that overtook a request, if one did: the queue's own record, or what Flux's objects showed. */
const overtakenBy = (entry: Entry, error: unknown, results: ReconcileResult[]): string | undefined => {
  if (entry.supersededBy !== undefined) return entry.supersededBy;
  if (isKsailError(error, 'reconcile-superseded')) {
    return typeof error.details.supersededBy === 'string' ? error.details.supersededBy : 'a newer version';
  }
  const result = results.find((candidate) => candidate.code === 'reconcile-superseded');
  return result ? (result.supersededBy ?? 'a newer version') : undefined;
};

const copy = (view: RequestView): RequestView => ({
  ...view,
  sources: [...view.sources],
  results: [...view.results],
});
