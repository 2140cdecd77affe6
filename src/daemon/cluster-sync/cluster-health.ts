import type { Clock } from '../../clock.js';
import { describeError, isKsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { DaemonStatus } from '../control/control-types.js';

export interface ClusterHealthOptions {
  clock: Clock;
  logger?: Logger;
  /**
   * A short read of the API server (the Flux namespace, with the adapter's 3 s probe timeout) that throws
   * `cluster-unreachable` when it does not answer. Without it, only the operations themselves tell.
   */
  probe?: () => Promise<void>;
  /** How long an operation may run before the first probe; default 500 ms, so quick writes cost nothing. */
  probeDelayMs?: number;
  /** Pause between probes while the operation still runs; default 2 s. */
  probeIntervalMs?: number;
}

/**
 * Whether the cluster answered the last call; shown in status and used to tell "down" from "broken".
 *
 * A tag write retries each request for up to its 10 s timeout, six times, so a hung API server would look
 * healthy for a minute if only the write's outcome counted (issue #13). While a cluster operation runs, a short
 * probe beside it reports a hung or unreachable server within about 4 s (500 ms + the 3 s probe timeout), as the
 * CLI does; the operation itself goes on retrying and nothing it carries is lost.
 */
export class ClusterHealth {
  reachable = true;
  lastError: string | undefined;
  private readonly options: ClusterHealthOptions | undefined;

  constructor(options?: ClusterHealthOptions) {
    this.options = options;
  }

  markReachable(): void {
    this.reachable = true;
    this.lastError = undefined;
  }

  markUnreachable(error: unknown): void {
    this.reachable = false;
    this.lastError = describeError(error);
  }

  /** A failure that is not about reachability (RBAC, Flux missing): the cluster answered. */
  markFailed(error: unknown): void {
    this.reachable = true;
    this.lastError = describeError(error);
  }

  /** Runs a cluster operation with the probe beside it (see the class comment). */
  async track<T>(operation: () => Promise<T>): Promise<T> {
    const options = this.options;
    if (!options?.probe) return operation();
    const done = new AbortController();
    const probing = this.probeWhile(options, done.signal).catch((error: unknown) => {
      options.logger?.debug('cluster probe failed', { error: describeError(error) });
    });
    try {
      return await operation();
    } finally {
      done.abort();
      await probing;
    }
  }

  private async probeWhile(options: ClusterHealthOptions, done: AbortSignal): Promise<void> {
    const { clock, probe } = options;
    if (!probe) return;
    // A sleep ended by `done` is the normal end of a quick operation, not a failure.
    const pause = (ms: number) => clock.sleep(ms, done).catch(() => undefined);
    await pause(options.probeDelayMs ?? 500);
    while (!done.aborted) {
      try {
        await probe();
        // The server answers again; what the operation reports next decides lastError.
        if (!done.aborted) this.reachable = true;
      } catch (error) {
        if (!done.aborted && isKsailError(error, 'cluster-unreachable')) this.markUnreachable(error);
      }
      await pause(options.probeIntervalMs ?? 2_000);
    }
  }

  view(): DaemonStatus['cluster'] {
    return { reachable: this.reachable, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }
}
