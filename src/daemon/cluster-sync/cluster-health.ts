import type { Clock } from '../../clock.js';
import { describeError, isKsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { DaemonStatus } from '../control/control-types.js';

type ClusterState = 'reachable' | 'unreachable' | 'not-configured';

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
  /** Pause between probes while an operation still runs; default 1 s (with the 3 s timeout: within 4 s). */
  probeIntervalMs?: number;
}

/**
 * Whether the cluster answered the last call; shown in status and used to tell "down" from "broken".
 *
 * A tag write retries each request for up to its 10 s timeout, six times, so a hung API server would look
 * healthy for a minute if only the write's outcome counted (issue #13). While cluster operations run, a short
 * probe beside them (one a second, each with the 3 s timeout) reports a hung or unreachable server within about
 * 4 s, as the CLI does; the operations go on retrying and nothing they carry is lost.
 */
export class ClusterHealth {
  reachable = true;
  lastError: string | undefined;
  private notConfigured = false;
  private notConfiguredSaid = false;
  private readonly options: ClusterHealthOptions | undefined;
  /** Cluster operations in flight; the probe runs while there is one. */
  private active = 0;
  private idle: AbortController | undefined;
  /** Counts answers from the cluster, so a probe that failed before an answer arrived is not believed. */
  private answeredAt = 0;

  constructor(options?: ClusterHealthOptions) {
    this.options = options;
  }

  markReachable(): void {
    this.answeredAt += 1;
    this.reachable = true;
    this.notConfigured = false;
    this.lastError = undefined;
  }

  /**
   * The cluster did not answer, or none is configured (no kubeconfig). Returns the log level for it: no cluster
   * is a normal state for push-only use, so it is said once at warn and then at debug (issue 9, §2).
   */
  markUnreachable(error: unknown): 'error' | 'warn' | 'debug' {
    this.reachable = false;
    this.lastError = describeError(error);
    this.notConfigured = isKsailError(error, 'cluster-not-configured');
    if (!this.notConfigured) return 'error';
    const level = this.notConfiguredSaid ? 'debug' : 'warn';
    this.notConfiguredSaid = true;
    return level;
  }

  /** A failure that is not about reachability (RBAC, Flux missing): the cluster answered. */
  markFailed(error: unknown): void {
    this.answeredAt += 1;
    this.reachable = true;
    this.notConfigured = false;
    this.lastError = describeError(error);
  }

  /**
   * Runs a cluster operation with the probe beside it (see the class comment). One probe loop serves every
   * operation in flight, so a write that follows a reconcile does not start the count again.
   */
  async track<T>(operation: () => Promise<T>): Promise<T> {
    const options = this.options;
    if (!options?.probe) return operation();
    this.active += 1;
    if (this.active === 1) {
      const idle = new AbortController();
      this.idle = idle;
      this.probeWhile(options, idle.signal).catch((error: unknown) => {
        options.logger?.debug('cluster probe failed', { error: describeError(error) });
      });
    }
    try {
      return await operation();
    } finally {
      this.active -= 1;
      if (this.active === 0) this.idle?.abort();
    }
  }

  private async probeWhile(options: ClusterHealthOptions, idle: AbortSignal): Promise<void> {
    const { clock, probe } = options;
    if (!probe) return;
    // A sleep ended because nothing is in flight any more is the normal end, not a failure.
    const pause = (ms: number) => clock.sleep(ms, idle).catch(() => undefined);
    await pause(options.probeDelayMs ?? 500);
    while (!idle.aborted) {
      const started = this.answeredAt;
      try {
        await probe();
        // The server answers again; what the operations report next decides lastError.
        this.reachable = true;
      } catch (error) {
        // Unless an operation got an answer meanwhile, the failed probe is the news, even if the operation ended.
        if (this.answeredAt === started && isKsailError(error, 'cluster-unreachable'))
          this.markUnreachable(error);
      }
      await pause(options.probeIntervalMs ?? 1_000);
    }
  }

  get state(): ClusterState {
    if (this.notConfigured) return 'not-configured';
    return this.reachable ? 'reachable' : 'unreachable';
  }

  view(): DaemonStatus['cluster'] {
    return {
      reachable: this.reachable,
      state: this.state,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
