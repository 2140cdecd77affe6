import type { Clock } from '../../clock.js';
import { backoffDelay, type RetryPolicy } from '../../retry.js';
import type { ResolvedSource } from '../../config/schema.js';
import { describeError, isKsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ClusterHealth } from './cluster-health.js';
import type { EventBus } from '../event-bus.js';
import type { FluxDriver } from './flux-driver-types.js';

interface Pending {
  source: ResolvedSource;
  version: string;
  /** Apply the OCIRepository and Kustomization (first version of the source), not just patch the tag. */
  ensure: boolean;
}

export interface PendingPatchesOptions {
  flux: Pick<FluxDriver, 'ensureResources' | 'patchTag'>;
  cluster: ClusterHealth;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  retry?: RetryPolicy;
}

/**
 * Cluster writes per source, applied in the background. Only the latest version of a source matters, so a newer
 * version replaces a pending one; while the cluster does not answer, the writes wait and are retried with backoff,
 * so pushes go on and nothing is lost.
 */
export class PendingPatches {
  private readonly options: PendingPatchesOptions;
  private readonly pending = new Map<string, Pending>();
  private readonly applied = new Map<string, string>();
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private attempt = 0;

  constructor(options: PendingPatchesOptions) {
    this.options = options;
  }

  /** Queues `version` for the source; `ensure` applies the Flux objects instead of patching the tag. */
  set(source: ResolvedSource, version: string, ensure: boolean): void {
    const previous = this.pending.get(source.name);
    this.pending.set(source.name, { source, version, ensure: ensure || (previous?.ensure ?? false) });
    this.kick();
  }

  /** A removed source: drop its pending write. */
  forget(name: string): void {
    this.pending.delete(name);
    this.applied.delete(name);
    this.notify();
  }

  isPending(names: readonly string[]): boolean {
    return names.some((name) => this.pending.has(name));
  }

  /** Whether the latest version of the source reached the cluster (undefined before the first one). */
  tagPatched(name: string): boolean | undefined {
    if (this.pending.has(name)) return false;
    return this.applied.has(name) ? true : undefined;
  }

  /** Resolves once none of `names` has a pending write; rejects when the signal aborts. */
  whenApplied(names: readonly string[], signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!signal?.aborted && this.isPending(names)) return;
        this.waiters.delete(check);
        signal?.removeEventListener('abort', check);
        if (signal?.aborted) reject(signal.reason as Error);
        else resolve();
      };
      this.waiters.add(check);
      signal?.addEventListener('abort', check, { once: true });
      check();
    });
  }

  async close(): Promise<void> {
    this.abort.abort(new Error('daemon stopping'));
    await this.loop;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private kick(): void {
    if (this.loop || this.abort.signal.aborted) return;
    this.loop = this.drain()
      .catch((error: unknown) => {
        this.options.logger.error('cluster sync failed', { error: describeError(error) });
      })
      .finally(() => {
        this.loop = undefined;
        if (this.pending.size > 0 && !this.abort.signal.aborted) this.kick();
      });
  }

  private async drain(): Promise<void> {
    const { flux, cluster, bus } = this.options;
    while (!this.abort.signal.aborted) {
      const next = this.pending.entries().next();
      if (next.done) return;
      const [name, entry] = next.value;
      try {
        // close() aborts: the write's own retries stop instead of holding up shutdown.
        const options = { signal: this.abort.signal };
        if (entry.ensure) await flux.ensureResources(entry.source, entry.version, options);
        else await flux.patchTag(entry.source, entry.version, options);
      } catch (error) {
        await this.failed(name, entry, error);
        continue;
      }
      // A newer version may have arrived during the call; it stays pending.
      if (this.pending.get(name) === entry) this.pending.delete(name);
      this.applied.set(name, entry.version);
      this.attempt = 0;
      cluster.markReachable();
      bus.emit('patch', name, { tag: entry.version, applied: entry.ensure });
      this.notify();
    }
  }

  private async failed(name: string, entry: Pending, error: unknown): Promise<void> {
    const { cluster, bus } = this.options;
    if (isKsailError(error, 'cluster-unreachable')) cluster.markUnreachable(error);
    else cluster.markFailed(error);
    // Move it to the back so that one broken source does not hold up the others.
    if (this.pending.get(name) === entry) {
      this.pending.delete(name);
      this.pending.set(name, entry);
    }
    const retry = this.options.retry ?? { baseMs: 1000, maxMs: 30_000 };
    const delayMs = backoffDelay(retry, this.attempt);
    this.attempt += 1;
    bus.emit('error', name, {
      code: isKsailError(error) ? error.code : 'internal',
      error: describeError(error),
      tag: entry.version,
      retryInMs: delayMs,
    });
    await this.options.clock.sleep(delayMs, this.abort.signal).catch(() => undefined);
  }
}
