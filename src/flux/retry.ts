import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import { isTransientClusterError } from './kube-errors.js';

/** 6 attempts over about 5 s: 200, 400, 800, 1600, 2000 ms between them. */
export const CLUSTER_WRITE_RETRY: RetryPolicy = { attempts: 6, baseMs: 200, maxMs: 2000 };

export interface ClusterRetryOptions {
  clock: Clock;
  logger: Logger;
  /** For logs and the abort error: what is being retried. */
  what: string;
  policy?: RetryPolicy | undefined;
  /** Ends the retries: a wait it cancels throws `aborted`. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs a cluster write, retrying transient failures (optimistic-concurrency 409s, 429, 5xx, lost connections)
 * with capped exponential backoff on the injected clock. Anything else, and the last failure, is thrown.
 */
export const withClusterRetry = <T>(
  run: () => Promise<T>,
  options: ClusterRetryOptions,
): Promise<{ value: T; attempts: number }> =>
  withRetry(run, {
    policy: options.policy ?? CLUSTER_WRITE_RETRY,
    clock: options.clock,
    what: options.what,
    signal: options.signal,
    delayFor: (error, _retry, backoff) => (isTransientClusterError(error) ? backoff : undefined),
    onRetry: (error, attempt, delayMs) =>
      options.logger.debug('retrying cluster write', {
        what: options.what,
        attempt,
        delayMs,
        error: describeError(error),
      }),
  });
