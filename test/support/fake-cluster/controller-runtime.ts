import { parseDuration } from '../../../src/model/duration.js';
import type { ObjectApi } from './object-api.js';
import type { JsonObject, KObject, ResourceType } from './types.js';
import { clone, isObject, timestamp } from './types.js';

/**
 * The bits of controller-runtime and fluxcd/pkg the emulated controllers need: a work queue that runs one
 * reconcile per object at a time (a change during a run queues another), interval requeues, kstatus-style
 * conditions, and status writes through the `/status` subresource.
 */
export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';
export const FLUX_FINALIZER = 'finalizers.fluxcd.io';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export const objectKey = (namespace: string | undefined, name: string): string =>
  JSON.stringify([namespace ?? '', name]);

export const parseKey = (key: string): [string, string] => JSON.parse(key) as [string, string];

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Keys whose interval elapsed: reconcile even if nothing changed. */
  readonly due = new Set<string>();
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<void>,
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

  requeueAfter(key: string, ms: number): void {
    if (this.stopped || !Number.isFinite(ms) || ms <= 0) return;
    clearTimeout(this.timers.get(key));
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.due.add(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private run(key: string): void {
    this.queued.delete(key);
    if (this.stopped) return;
    this.running.add(key);
    this.reconcile(key)
      .catch(this.onError)
      .finally(() => {
        this.running.delete(key);
        this.due.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      });
  }
}

/** Sets a condition; lastTransitionTime only moves when the status changes, as in fluxcd/pkg/runtime. */
export const setCondition = (
  status: JsonObject,
  condition: Condition,
  generation: number | undefined,
): void => {
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as Condition[]) : [];
  const existing = conditions.find((entry) => entry.type === condition.type);
  const next: Condition = {
    ...condition,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime:
      existing && existing.status === condition.status && existing.lastTransitionTime
        ? existing.lastTransitionTime
        : timestamp(),
  };
  const others = conditions.filter((entry) => entry.type !== condition.type);
  // Flux keeps Ready first, then Reconciling/Stalled, then the rest.
  const order = ['Ready', 'Reconciling', 'Stalled'];
  status['conditions'] = [...others, next].sort(
    (a, b) => (order.indexOf(a.type) + 1 || 99) - (order.indexOf(b.type) + 1 || 99),
  );
};

export const removeCondition = (status: JsonObject, type: string): void => {
  if (!Array.isArray(status['conditions'])) return;
  status['conditions'] = (status['conditions'] as Condition[]).filter((entry) => entry.type !== type);
};

/** A Flux duration field (`1m30s`) in ms, or `fallback` when it is absent or malformed, as the controllers do. */
export const durationOr = (value: unknown, fallback: number): number => {
  try {
    return typeof value === 'string' ? parseDuration(value) : fallback;
  } catch {
    return fallback;
  }
};

export const statusOf = (object: KObject): JsonObject => (isObject(object['status']) ? object['status'] : {});

export const specOf = (object: KObject): JsonObject => (isObject(object['spec']) ? object['spec'] : {});

/**
 * Read-modify-write of the latest status through the status subresource; returns undefined when the object
 * is gone. Synchronous between read and write, so nothing else can interleave.
 */
export const writeStatus = (
  api: ObjectApi,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  manager: string,
  mutate: (status: JsonObject, object: KObject) => void,
): KObject | undefined => {
  const current = api.find(type, namespace, name);
  if (!current) return undefined;
  const status = clone(statusOf(current));
  mutate(status, current);
  return api.update(type, { ...current, status }, { fieldManager: manager, subresource: 'status' });
};

/** What both controllers write when a reconciliation starts: Reconciling=True, Ready=Unknown (Progressing). */
export const markProgressing = (
  api: ObjectApi,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  manager: string,
  generation: number | undefined,
): void => {
  writeStatus(api, type, namespace, name, manager, (status) => {
    const progressing = {
      status: 'True',
      reason: 'Progressing',
      message: 'reconciliation in progress',
    } as const;
    setCondition(status, { type: 'Reconciling', ...progressing }, generation);
    setCondition(status, { type: 'Ready', ...progressing, status: 'Unknown' }, generation);
  });
};

/** Adds (or removes) Flux's finalizer on the main resource; returns the updated object. */
export const setFinalizer = (
  api: ObjectApi,
  type: ResourceType,
  object: KObject,
  present: boolean,
  manager: string,
): KObject => {
  const finalizers = object.metadata.finalizers ?? [];
  if (finalizers.includes(FLUX_FINALIZER) === present) return object;
  const next = clone(object);
  const updated = present
    ? [...finalizers, FLUX_FINALIZER]
    : finalizers.filter((item) => item !== FLUX_FINALIZER);
  if (updated.length) next.metadata.finalizers = updated;
  else delete next.metadata.finalizers;
  delete next.metadata.resourceVersion;
  return api.update(type, next, { fieldManager: manager });
};

/** Whether the object asks for a reconcile: new generation or a new requestedAt token. */
export const wantsReconcile = (object: KObject): boolean => {
  const status = statusOf(object);
  const token = object.metadata.annotations?.[REQUESTED_AT];
  return (
    object.metadata.generation !== status['observedGeneration'] ||
    (token !== undefined && token !== status['lastHandledReconcileAt'])
  );
};
