import type { KObject } from './types.js';
import { clone, groupOf } from './types.js';

/**
 * The fake's etcd: objects by group/kind/namespace/name, one global resourceVersion counter, and a bounded
 * history of change events so watches can resume from a resourceVersion (older ones get 410 Expired).
 */
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** The object after the change (for DELETED: as it was deleted, with the deletion's resourceVersion). */
  object: KObject;
  /** The object before the change, for watch filters that must notice an object leaving a selection. */
  previous?: KObject;
  revision: number;
}

export type StoreListener = (event: StoreEvent) => void;

const keyOf = (group: string, kind: string, namespace: string | undefined, name: string): string =>
  JSON.stringify([group, kind, namespace ?? '', name]);

const objectKey = (object: KObject): string =>
  keyOf(groupOf(object.apiVersion), object.kind, object.metadata.namespace, object.metadata.name ?? '');

export class ObjectStore {
  private readonly objects = new Map<string, KObject>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private revision = 0;
  /** Events at or below this revision were dropped from the history. */
  private compactedRevision = 0;

  constructor(private readonly historyLimit = 1000) {}

  get currentRevision(): number {
    return this.revision;
  }

  get(group: string, kind: string, namespace: string | undefined, name: string): KObject | undefined {
    const object = this.objects.get(keyOf(group, kind, namespace, name));
    return object ? clone(object) : undefined;
  }

  list(group: string, kind: string, namespace?: string): KObject[] {
    return [...this.objects.values()]
      .filter((object) => groupOf(object.apiVersion) === group && object.kind === kind)
      .filter((object) => namespace === undefined || (object.metadata.namespace ?? '') === namespace)
      .sort(
        (a, b) =>
          (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
          (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
      )
      .map(clone);
  }

  /** Stores the object with the next resourceVersion and notifies watchers; returns the stored copy. */
  put(object: KObject): KObject {
    const key = objectKey(object);
    const previous = this.objects.get(key);
    this.revision += 1;
    const stored = clone(object);
    stored.metadata.resourceVersion = String(this.revision);
    this.objects.set(key, stored);
    this.emit({
      type: previous ? 'MODIFIED' : 'ADDED',
      object: stored,
      ...(previous ? { previous } : {}),
      revision: this.revision,
    });
    return clone(stored);
  }

  remove(object: KObject): KObject | undefined {
    const key = objectKey(object);
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.objects.delete(key);
    this.revision += 1;
    const deleted = clone(previous);
    deleted.metadata.resourceVersion = String(this.revision);
    this.emit({ type: 'DELETED', object: deleted, previous, revision: this.revision });
    return clone(deleted);
  }

  /** Events after `revision`, or 'expired' when the history no longer reaches back that far. */
  eventsSince(revision: number): StoreEvent[] | 'expired' {
    if (revision < this.compactedRevision) return 'expired';
    return this.history.filter((event) => event.revision > revision);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped) this.compactedRevision = dropped.revision;
    }
    for (const listener of [...this.listeners]) listener(event);
  }
}
