import type { Clock } from '../../clock.js';
import { createLimiter } from '../../concurrency.js';
import type { ResolvedSource } from '../../config/schema.js';
import type { Logger } from '../../logger.js';
import type { ReconcileMode } from '../../model/reconciliation-request.js';
import type { RetryPolicy } from '../../retry.js';
import type { DaemonStatus, RequestView } from '../control/control-types.js';
import type { EventBus } from '../event-bus.js';
import { ClusterHealth } from './cluster-health.js';
import type { FluxDriver, ObservedSource, RolledBack } from './flux-driver-types.js';
import type { RollbackResult } from '../../publish/rollback.js';
import { RequestTable, type Expected } from './requests.js';
import { SourceSync } from './source-sync.js';
import type { SyncContext } from './sync-context.js';

export interface ClusterSyncOptions {
  flux: FluxDriver;
  mode: ReconcileMode;
  /** flux.concurrency: reconciles running at once. */
  concurrency: number;
  /** Namespace of the Flux objects (flux.namespace). */
  namespace: string;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  /** Backoff while the cluster does not answer. */
  retry?: RetryPolicy;
  newRequestId?: () => string;
}

/** After a failed cluster write or an unreachable cluster: 1 s, doubling up to 30 s. */
export const CLUSTER_SYNC_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 30_000 };

/**
 * The daemon's one owner of the cluster (issue #5, #11): a SourceSync per source writes the tag and runs the
 * reconcile requests in that order, and this holds what they share: the mode (Automatic runs a request after
 * each push; Manual holds it until a trigger), the reconcile slots, the request table and the cluster's health.
 *
 * Flux collapses requests (a controller records only the requestedAt value it read last, and a Kustomization
 * applies its source's current artifact), so one source runs one request at a time, and a push that overtakes a
 * running request ends it as `superseded` at once instead of leaving it to wait for a token Flux never records.
 */
export class ClusterSync {
  private readonly syncs = new Map<string, SourceSync>();
  private readonly table: RequestTable;
  private readonly health: ClusterHealth;
  private readonly stop = new AbortController();
  private readonly context: SyncContext;
  private current: ReconcileMode;
  private readonly flux: FluxDriver;
  private closing: Promise<void> | undefined;

  constructor(options: ClusterSyncOptions) {
    this.current = options.mode;
    this.flux = options.flux;
    const { flux } = options;
    this.health = new ClusterHealth({
      clock: options.clock,
      logger: options.logger,
      ...(flux.probe ? { probe: () => flux.probe?.() ?? Promise.resolve() } : {}),
    });
    this.table = new RequestTable({
      namespace: options.namespace,
      clock: options.clock,
      bus: options.bus,
      ...(options.newRequestId ? { newId: options.newRequestId } : {}),
    });
    this.context = {
      flux: options.flux,
      table: this.table,
      slots: createLimiter(options.concurrency),
      health: this.health,
      bus: options.bus,
      clock: options.clock,
      logger: options.logger,
      retry: options.retry ?? CLUSTER_SYNC_RETRY,
      mode: () => this.current,
      stopping: this.stop.signal,
    };
  }

  get mode(): ReconcileMode {
    return this.current;
  }

  setMode(mode: ReconcileMode): void {
    this.current = mode;
    if (mode === 'Automatic') for (const sync of this.syncs.values()) sync.release();
  }

  /**
   * A publish of `source` succeeded: point the cluster at `version` (`ensure`: apply the Flux objects, for the
   * first result of a pipeline) and, after a real push, queue or hold a request for it.
   */
  published(source: ResolvedSource, version: string, options: { ensure: boolean; pushed?: Expected }): void {
    if (this.stop.signal.aborted) return;
    this.syncFor(source).published(version, options);
  }

  /** A reconcile trigger (control API): one request per source; `done` resolves when they all finished. */
  trigger(
    sources: readonly ResolvedSource[],
    expectedOf: (source: string) => Expected | undefined,
  ): { ids: string[]; done: Promise<void> } {
    const entries = sources.map((source) => this.syncFor(source).trigger(expectedOf(source.name)));
    return {
      ids: entries.map((entry) => entry.view.id),
      done: Promise.all(entries.map((entry) => entry.done)).then(() => undefined),
    };
  }

  /** A reload recreated the source: its next first result applies the objects again. */
  reset(source: ResolvedSource): void {
    this.syncs.get(source.name)?.reset(source);
  }

  /** A reload removed the source. */
  remove(name: string): void {
    this.syncs.get(name)?.remove();
    this.syncs.delete(name);
  }

  /** `ksail-fluxd rollback` through the daemon (src/publish/rollback.ts, one implementation). */
  rollback(source: ResolvedSource, version: string | undefined): Promise<RollbackResult> {
    return this.syncFor(source).rollback(version, this.stop.signal);
  }

  rolledBack(name: string): RolledBack | undefined {
    return this.syncs.get(name)?.rolledBack();
  }

  tagPatched(name: string): boolean | undefined {
    return this.syncs.get(name)?.tagPatched();
  }

  /** The source's Flux objects as the cluster has them; undefined when the Flux port cannot tell. */
  observe(source: ResolvedSource): Promise<ObservedSource | undefined> {
    return this.flux.observe ? this.flux.observe(source) : Promise.resolve(undefined);
  }

  /** The tag last written to the source's OCIRepository. */
  writtenTag(name: string): string | undefined {
    return this.syncs.get(name)?.writtenTag();
  }

  pendingFor(name: string): string[] {
    return this.table.pendingFor(name);
  }

  get(id: string): RequestView | undefined {
    return this.table.get(id);
  }

  recent(): RequestView[] {
    return this.table.recent();
  }

  cluster(): DaemonStatus['cluster'] {
    return this.health.view();
  }

  /** Idempotent: stops tag writes and running requests, fails the queued ones, closes the Flux port. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.stop.abort(new Error('daemon stopping'));
    for (const entry of this.table.all()) entry.abort.abort(new Error('daemon stopping'));
    await Promise.allSettled([...this.syncs.values()].map((sync) => sync.close()));
    for (const entry of this.table.all()) {
      if (entry.phase === 'queued')
        this.table.finish(entry, [], new Error('the daemon stopped before it ran'));
    }
    this.flux.close?.();
  }

  private syncFor(source: ResolvedSource): SourceSync {
    let sync = this.syncs.get(source.name);
    if (!sync) this.syncs.set(source.name, (sync = new SourceSync(source, this.context)));
    return sync;
  }
}
