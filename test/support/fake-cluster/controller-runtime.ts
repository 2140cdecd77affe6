import { parseDuration } from '../../../src/model/duration.js';
import type { ObjectApi } from './object-api.js';
import type { StoreEvent } from './store.js';
import type { JsonObject, KObject, ResourceType } from './types.js';
import { clone, isObject } from './types.js';

/**
 * The bits of controller-runtime and fluxcd/pkg the emulated controllers need: a work queue that runs one
 * reconcile per object at a time (a change during a run queues another) and requeues by the reconcile's result
 * with client-go's per-item exponential failure rate limiter, the watch predicates Flux registers, and status
 * writes through the `/status` subresource.
 */
export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
export const FLUX_FINALIZER = 'finalizers.fluxcd.io';

/** fluxcd/pkg/runtime/controller rate_limiter.go: `--min-retry-delay` 750ms, `--max-retry-delay` 15m. */
const MIN_RETRY_DELAY_MS = 750;
const MAX_RETRY_DELAY_MS = 15 * 60_000;

/** What a reconcile returns, as controller-runtime's (ctrl.Result, error). */
export interface ReconcileResult {
  /** A returned error: requeued with the rate limiter's backoff. */
  error?: boolean;
  /** `Result{Requeue: true}`: requeued with the rate limiter's backoff too. */
  requeue?: boolean;
  /** `Result{RequeueAfter}`: the backoff is forgotten and the key comes back after this many ms. */
  requeueAfter?: number;
}

export const objectKey = (namespace: string | undefined, name: string): string =>
  JSON.stringify([namespace ?? '', name]);

export const parseKey = (key: string): [string, string] => JSON.parse(key) as [string, string];

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<ReconcileResult>,
    private readonly onError: (error: unknown) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    // Asynchronous like a real controller: never inside the API call that caused the change.
    setImmediate(() => this.run(key));
  }

  /** client-go's delaying queue: a key already waiting keeps the earlier of the two times. */
  addAfter(key: string, ms: number): void {
    if (this.stopped || !Number.isFinite(ms)) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const waiting = this.timers.get(key);
    if (waiting && waiting.at <= at) return;
    clearTimeout(waiting?.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** ItemExponentialFailureRateLimiter.When: 750ms × 2^failures, at most 15m. */
  addRateLimited(key: string): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.addAfter(key, Math.min(MIN_RETRY_DELAY_MS * 2 ** failures, MAX_RETRY_DELAY_MS));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** controller-runtime reconcileHandler: error or Requeue → rate limited; RequeueAfter → forget + after; else forget. */
  private finish(key: string, result: ReconcileResult): void {
    if (result.error || result.requeue) return this.addRateLimited(key);
    this.forget(key);
    if (result.requeueAfter !== undefined && result.requeueAfter > 0) this.addAfter(key, result.requeueAfter);
  }

  private run(key: string): void {
    this.queued.delete(key);
    if (this.stopped) return;
    this.running.add(key);
    this.reconcile(key)
      .then(
        (result) => this.finish(key, result),
        (error: unknown) => {
          this.onError(error);
          this.addRateLimited(key);
        },
      )
      .finally(() => {
        this.running.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      });
  }
}

const requestedAt = (object: KObject | undefined): string | undefined =>
  object?.metadata.annotations?.[REQUESTED_AT];

/**
 * `predicate.Or(GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{})`, the `For` predicate of
 * both controllers (ocirepository_controller.go SetupWithManager, kustomization_manager.go): creates and deletes
 * pass; an update passes when metadata.generation changed (also when a deletion starts: the API server bumps it)
 * or the requestedAt annotation has a new value. Status writes and other metadata changes do not.
 */
export const generationOrRequestChanged = (event: StoreEvent): boolean => {
  if (event.type !== 'MODIFIED' || !event.previous) return true;
  if (event.previous.metadata.generation !== event.object.metadata.generation) return true;
  const value = requestedAt(event.object);
  return value !== undefined && value !== requestedAt(event.previous);
};

/** A Flux duration field (`1m30s`) in ms, or `fallback` when it is absent or malformed, as the controllers do. */
export const durationOr = (value: unknown, fallback: number): number => {
  try {
    return typeof value === 'string' ? parseDuration(value) : fallback;
  } catch {
    return fallback;
  }
};

/** Go's time.Duration.String for whole milliseconds: `9m30s`, `1h0m0s`, `30s`, `1.5s`, `500ms`. */
export const goDuration = (ms: number): string => {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${(ms % 60_000) / 1000}s`;
  if (hours) return `${hours}h${minutes}m${seconds}`;
  return minutes ? `${minutes}m${seconds}` : seconds;
};

export const statusOf = (object: KObject): JsonObject => (isObject(object['status']) ? object['status'] : {});

export const specOf = (object: KObject): JsonObject => (isObject(object['spec']) ? object['spec'] : {});

/**
 * fluxcd/pkg/runtime/patch SerialPatcher for the status: writes the controller's working copy through the status
 * subresource (only the controller writes status, so the copy is the diff). Like `Helper.Patch` (patch.go), the
 * conditions go first and the rest of status (lastHandledReconcileAt, artifact, observedGeneration...) in a second
 * write, so a watcher can see new conditions beside old status fields. Undefined when the object is gone.
 */
export const patchStatus = (
  api: ObjectApi,
  type: ResourceType,
  object: KObject,
  manager: string,
  status: JsonObject,
): KObject | undefined => {
  const options = { fieldManager: manager, subresource: 'status' } as const;
  const find = () => api.find(type, object.metadata.namespace, object.metadata.name ?? '');
  const current = find();
  if (!current) return undefined;
  if ('conditions' in status) {
    const conditionsOnly = { ...statusOf(current), conditions: clone(status['conditions']) };
    api.update(type, { ...current, status: conditionsOnly }, options);
  }
  const updated = find();
  return updated && api.update(type, { ...updated, status: clone(status) }, options);
};

export const hasFinalizer = (object: KObject): boolean =>
  (object.metadata.finalizers ?? []).includes(FLUX_FINALIZER);

/** Adds (or removes) Flux's finalizer on the main resource (controllerutil.AddFinalizer + patch). */
export const setFinalizer = (
  api: ObjectApi,
  type: ResourceType,
  object: KObject,
  present: boolean,
  manager: string,
): void => {
  const current = api.find(type, object.metadata.namespace, object.metadata.name ?? '');
  if (!current || hasFinalizer(current) === present) return;
  const finalizers = current.metadata.finalizers ?? [];
  const next = clone(current);
  const updated = present
    ? [...finalizers, FLUX_FINALIZER]
    : finalizers.filter((item) => item !== FLUX_FINALIZER);
  if (updated.length) next.metadata.finalizers = updated;
  else delete next.metadata.finalizers;
  delete next.metadata.resourceVersion;
  api.update(type, next, { fieldManager: manager });
};
