import type { ResolvedSource } from '../../config/schema.js';
import { describeError, isKsailError, KsailError } from '../../errors.js';
import { mergeRequests } from '../../model/reconciliation-request.js';
import { backoffDelay } from '../../retry.js';
import type { RolledBack } from './flux-driver-types.js';
import type { RollbackResult } from '../../publish/rollback.js';
import type { Expected, RequestEntry } from './requests.js';
import type { SyncContext } from './sync-context.js';

interface TagWrite {
  version: string;
  /** Apply the OCIRepository and Kustomization (first version of the source), not just move the tag. */
  ensure: boolean;
  /** No real push since the last write: a tag `rollback` moved back stays (see ROLLED_BACK_ANNOTATION). */
  keepRollback: boolean;
}

/**
 * One source's way into the cluster, in the order Flux needs: write the tag (holding the Kustomization first in
 * Manual mode, see src/flux/hold.ts), then run the source's reconcile request. One loop per source does both, so
 * a request never runs before its tag and two requests of one source never race each other's requestedAt token.
 * Only the latest version matters: a newer tag replaces a pending one, a push merges into the pending request
 * and supersedes a running one for another version. While the cluster does not answer, writes and requests wait
 * and are retried with backoff, so pushes go on and nothing is lost.
 */
export class SourceSync {
  private source: ResolvedSource;
  private readonly context: SyncContext;
  private write: TagWrite | undefined;
  private applied: string | undefined;
  /** Set while the cluster runs a rolled-back tag, until the next real push. */
  private rolledBackTo: RolledBack | undefined;
  private writeAttempt = 0;
  private loop: Promise<void> | undefined;
  /** Ends a wait for a reconcile slot: a tag write came in and goes first. */
  private slotWait: AbortController | undefined;
  private closed = false;

  constructor(source: ResolvedSource, context: SyncContext) {
    this.source = source;
    this.context = context;
  }

  get name(): string {
    return this.source.name;
  }

  /** After a publish: the version to point the cluster at and, after a real push, the request to run. */
  published(version: string, options: { ensure: boolean; pushed?: Expected | undefined }): void {
    if (this.closed) return;
    this.write = {
      version,
      ensure: options.ensure || (this.write?.ensure ?? false),
      keepRollback: options.pushed === undefined && (this.write?.keepRollback ?? true),
    };
    if (options.pushed) this.submit(options.pushed);
    this.wake();
  }

  /**
   * A reconcile trigger: runs the pending request, or one for `expected` when nothing is pending. A request
   * already reconciling this very version answers the trigger too; one for an older version is overtaken.
   */
  trigger(expected: Expected | undefined): RequestEntry {
    const { table } = this.context;
    const running = table.find(this.name, ['running']);
    if (running && expected && running.request.expected?.[this.name]?.tag === expected.tag) return running;
    if (expected) this.supersedeRunning(expected.tag);
    const pending = table.find(this.name, ['held', 'queued']);
    // Asked for now: Flux must act on this request, not just have acted on the push by itself.
    if (pending) pending.request = { ...pending.request, origin: 'trigger' };
    const entry = pending ?? table.create(this.name, expected, 'trigger', this.context.mode());
    this.enqueue(entry);
    return entry;
  }

  /** Automatic mode again: held requests run. */
  release(): void {
    const held = this.context.table.find(this.name, ['held']);
    if (held) this.enqueue(held);
  }

  /** Whether the latest version reached the cluster (undefined before the first one). */
  tagPatched(): boolean | undefined {
    if (this.write) return false;
    return this.applied === undefined ? undefined : true;
  }

  /** The rolled-back tag the cluster runs, if any. */
  rolledBack(): RolledBack | undefined {
    return this.rolledBackTo;
  }

  /**
   * `ksail-fluxd rollback` through the daemon: moves the tag back, reconciles, waits for Flux. The tag stays there
   * until the next real push (which replaces any pending write with its own and clears the rollback).
   */
  async rollback(version: string | undefined, signal?: AbortSignal): Promise<RollbackResult> {
    const { flux, bus, health } = this.context;
    if (!flux.rollback) {
      throw new KsailError('unsupported', 'this daemon cannot roll back; restart it with this version');
    }
    const result = await flux.rollback(this.source, version, signal);
    health.markReachable();
    this.applied = result.to;
    this.rolledBackTo =
      result.to === result.latest ? undefined : { version: result.to, latest: result.latest };
    bus.emit('patch', this.name, { tag: result.to, rollback: true, outcome: result.outcome });
    return result;
  }

  /** The tag last written to the OCIRepository. */
  writtenTag(): string | undefined {
    return this.applied;
  }

  /** The source was recreated by a reload: its new pipeline writes the tag again from its first result. */
  reset(source: ResolvedSource): void {
    this.source = source;
    this.write = undefined;
    this.applied = undefined;
  }

  /**
   * The source left the config: no more writes, and its held requests, never to be triggered, end now. A request
   * already running finishes on its own.
   */
  remove(): void {
    this.closed = true;
    this.write = undefined;
    this.slotWait?.abort();
    const { table } = this.context;
    for (let held = table.find(this.name, ['held']); held; held = table.find(this.name, ['held'])) {
      table.finish(held, [], new Error(`source ${this.name} was removed from the config`));
    }
  }

  /** Stops the loop (close() of the cluster sync aborted what runs); resolves when it ended. */
  async close(): Promise<void> {
    this.closed = true;
    this.slotWait?.abort();
    await this.loop;
  }

  private submit(expected: Expected): void {
    const { table, bus } = this.context;
    this.supersedeRunning(expected.tag);
    const entry =
      table.find(this.name, ['held', 'queued']) ??
      table.create(this.name, expected, 'push', this.context.mode());
    if (entry.request.expected?.[this.name]?.tag !== expected.tag) {
      entry.request = mergeRequests(entry.request, { ...entry.request, expected: { [this.name]: expected } });
      bus.emit('request-queued', this.name, { id: entry.view.id, tag: expected.tag, merged: true });
    }
    if (this.context.mode() === 'Automatic') this.enqueue(entry);
  }

  /** Ends the running request when it waits for another version than `tag`: Flux will only apply the newest. */
  private supersedeRunning(tag: string): void {
    const running = this.context.table.find(this.name, ['running']);
    if (!running || running.request.expected?.[this.name]?.tag === tag) return;
    running.supersededBy = tag;
    running.abort.abort(new KsailError('reconcile-superseded', `superseded by ${tag}`));
  }

  private enqueue(entry: RequestEntry): void {
    if (entry.phase !== 'held' || this.context.stopping.aborted) return;
    entry.phase = 'queued';
    this.wake();
  }

  private wake(): void {
    if (this.loop) {
      this.slotWait?.abort();
      return;
    }
    this.loop = this.drain()
      .catch((error: unknown) => {
        this.context.logger.error('cluster sync failed', { error: describeError(error) });
      })
      .finally(() => {
        this.loop = undefined;
        if (!this.stopped() && (this.write || this.context.table.find(this.name, ['queued']))) this.wake();
      });
  }

  private stopped(): boolean {
    return this.closed || this.context.stopping.aborted;
  }

  private async drain(): Promise<void> {
    while (!this.stopped()) {
      if (this.write) {
        await this.writeTag(this.write);
        continue;
      }
      const entry = this.context.table.find(this.name, ['queued']);
      if (!entry) return;
      await this.take(entry);
    }
  }

  private async writeTag(write: TagWrite): Promise<void> {
    const { flux, health, bus } = this.context;
    let rolledBack: RolledBack | undefined;
    try {
      // close() aborts: the write's own retries stop instead of holding up shutdown.
      const options = {
        signal: this.context.stopping,
        hold: this.context.mode() === 'Manual',
        keepRollback: write.keepRollback,
      };
      if (write.ensure) {
        const result = await health.track(() => flux.ensureResources(this.source, write.version, options));
        rolledBack = result?.rolledBack;
      } else await health.track(() => flux.patchTag(this.source, write.version, options));
    } catch (error) {
      await this.writeFailed(write, error);
      return;
    }
    // A newer version may have arrived during the call; it stays pending.
    if (this.write === write) this.write = undefined;
    this.rolledBackTo = rolledBack;
    this.applied = rolledBack?.version ?? write.version;
    this.writeAttempt = 0;
    health.markReachable();
    bus.emit('patch', this.name, {
      tag: this.applied,
      applied: write.ensure,
      ...(rolledBack ? { rolledBackFrom: rolledBack.latest } : {}),
    });
  }

  private async writeFailed(write: TagWrite, error: unknown): Promise<void> {
    if (this.stopped()) return;
    const { health, bus, clock } = this.context;
    let level: 'error' | 'warn' | 'debug' = 'error';
    if (isUnreachable(error)) level = health.markUnreachable(error);
    else health.markFailed(error);
    const delayMs = backoffDelay(this.context.retry, this.writeAttempt);
    this.writeAttempt += 1;
    bus.emit(
      'error',
      this.name,
      {
        code: isKsailError(error) ? error.code : 'internal',
        error: describeError(error),
        tag: write.version,
        retryInMs: delayMs,
      },
      level,
    );
    await clock.sleep(delayMs, this.context.stopping).catch(() => undefined);
  }

  /** Waits for a reconcile slot and runs the request, unless a tag write came in first (it goes first). */
  private async take(entry: RequestEntry): Promise<void> {
    const wait = new AbortController();
    this.slotWait = wait;
    try {
      await this.context.slots(async () => {
        if (this.write || entry.phase !== 'queued' || this.stopped()) return;
        await this.run(entry);
      }, wait.signal);
    } catch {
      // The wait was interrupted: the loop looks again at what comes first.
    } finally {
      if (this.slotWait === wait) this.slotWait = undefined;
    }
  }

  private async run(entry: RequestEntry, attempt = 0): Promise<void> {
    const { table, flux, health, bus, clock } = this.context;
    const { signal } = entry.abort;
    if (signal.aborted) {
      table.finish(entry, [], signal.reason);
      return;
    }
    table.started(entry);
    try {
      const results = await health.track(() => flux.reconcile(entry.request, signal));
      health.markReachable();
      table.finish(entry, results, undefined);
    } catch (error) {
      if (signal.aborted || !isUnreachable(error)) {
        table.finish(entry, [], error);
        return;
      }
      const level = health.markUnreachable(error);
      table.requeued(entry);
      const delayMs = backoffDelay(this.context.retry, attempt);
      bus.emit(
        'error',
        this.name,
        { code: error.code, error: error.message, id: entry.view.id, retryInMs: delayMs },
        level,
      );
      await clock.sleep(delayMs, signal).catch(() => undefined);
      // A tag write that came in meanwhile goes first; otherwise the request runs again in its slot.
      if (!this.write && !this.stopped() && entry.phase === 'queued') await this.run(entry, attempt + 1);
    }
  }
}

/** The cluster does not answer, or none is configured yet: both are retried (a kubeconfig may appear). */
const isUnreachable = (error: unknown): error is KsailError =>
  isKsailError(error, 'cluster-unreachable') || isKsailError(error, 'cluster-not-configured');
