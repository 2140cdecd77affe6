import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { describeError, isKsailError } from '../../errors.js';
import {
  createRequest,
  type ReconcileMode,
  type ReconciliationRequest,
} from '../../model/reconciliation-request.js';
import type { RequestView } from '../control/control-types.js';
import type { EventBus } from '../event-bus.js';
import type { ReconcileResult } from './flux-driver-types.js';

/** `held` waits for a trigger (Manual mode); `queued` waits for its tag write and a slot; then `running`. */
export type Phase = 'held' | 'queued' | 'running' | 'done';

export type Expected = { tag: string; digest: string };

export interface RequestEntry {
  /** Every request addresses one source: its OCIRepository and its Kustomization. */
  source: string;
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

/** Short ids users type in `ksail-fluxd status` and `GET /v1/requests/<id>`. */
export const newRequestId = (): string => randomBytes(4).toString('hex');

export interface RequestTableOptions {
  namespace: string;
  clock: Clock;
  bus: EventBus;
  newId?: () => string;
  /** How many requests status keeps (finished ones are dropped oldest first). */
  recentLimit?: number;
}

/** Every request of every source, for status and `GET /v1/requests/{id}`; the source syncs run them. */
export class RequestTable {
  private readonly options: RequestTableOptions;
  private readonly entries = new Map<string, RequestEntry>();

  constructor(options: RequestTableOptions) {
    this.options = options;
  }

  create(
    source: string,
    expected: Expected | undefined,
    origin: 'push' | 'trigger',
    mode: ReconcileMode,
  ): RequestEntry {
    const { namespace, clock } = this.options;
    const request = createRequest({
      id: (this.options.newId ?? newRequestId)(),
      targets: [
        { kind: 'OCIRepository', name: source, namespace },
        { kind: 'Kustomization', name: source, namespace },
      ],
      mode,
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
    const entry: RequestEntry = {
      source,
      request,
      view,
      phase: 'held',
      done,
      settle,
      abort: new AbortController(),
    };
    this.entries.set(request.id, entry);
    this.prune();
    this.options.bus.emit('request-queued', source, { id: request.id, mode, tag: expected?.tag });
    return entry;
  }

  /** The request of `source` in one of `phases`, oldest first. */
  find(source: string, phases: readonly Phase[]): RequestEntry | undefined {
    for (const entry of this.entries.values()) {
      if (entry.source === source && phases.includes(entry.phase)) return entry;
    }
    return undefined;
  }

  all(): RequestEntry[] {
    return [...this.entries.values()];
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
    return this.all()
      .filter((entry) => entry.phase !== 'done' && entry.source === source)
      .map((entry) => entry.view.id);
  }

  started(entry: RequestEntry): void {
    entry.phase = 'running';
    entry.view = {
      ...entry.view,
      outcome: 'running',
      startedAt: new Date(this.options.clock.now()).toISOString(),
    };
    this.options.bus.emit('reconcile-started', entry.source, {
      id: entry.view.id,
      expected: entry.request.expected,
    });
  }

  /** Back to waiting (the cluster went away mid-run): a newer push may still merge into it. */
  requeued(entry: RequestEntry): void {
    entry.phase = 'queued';
    entry.view = { ...entry.view, outcome: 'pending' };
  }

  finish(entry: RequestEntry, results: readonly ReconcileResult[], error: unknown): void {
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
    this.options.bus.emit('reconcile-finished', entry.source, {
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

/** The version that overtook a request, if one did: our own record, or what Flux's objects showed. */
const overtakenBy = (
  entry: RequestEntry,
  error: unknown,
  results: readonly ReconcileResult[],
): string | undefined => {
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
