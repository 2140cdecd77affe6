import { backoffDelay, type Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isTransientClusterError } from './kube-errors.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

/** 6 attempts over about 5 s: 200, 400, 800, 1600, 2000 ms between them. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 200, maxMs: 2000 };

export interface RetryOptions {
  clock: Clock;
  logger: Logger;
  /** For logs: what is being retried. */
  what: string;
  policy?: Partial<RetryPolicy>;
  signal?: AbortSignal | undefined;
}

/**
 * Runs a cluster write, retrying transient failures (optimistic-concurrency 409s, 429, 5xx, lost connections)
 * with capped exponential backoff on the injected clock. Anything else, and the last failure, is thrown.
 */
export const withClusterRetry = async <T>(
  run: () => Promise<T>,
  options: RetryOptions,
): Promise<{ value: T; attempts: number }> => {
  const policy = { ...DEFAULT_RETRY, ...options.policy };
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await run(), attempts: attempt };
    } catch (error) {
      if (attempt >= policy.attempts || !isTransientClusterError(error)) throw error;
      const delay = backoffDelay(attempt - 1, policy.baseMs, policy.maxMs);
      options.logger.debug('retrying cluster write', {
        what: options.what,
        attempt,
        delayMs: delay,
        error: describeError(error),
      });
      await options.clock.sleep(delay, options.signal);
    }
  }
};
