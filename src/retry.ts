import type { Clock } from './clock.js';
import { isKsailError, KsailError } from './errors.js';

/**
 * The one retry policy: capped exponential backoff, `baseMs * 2^retry` up to `maxMs`, and at most `attempts`
 * attempts (the first included; unbounded when absent, for the daemon's loops that wait for a cluster or a
 * registry to come back).
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  attempts?: number;
}

/** The delay before retry number `retry` (0 for the first retry). */
export const backoffDelay = (policy: RetryPolicy, retry: number): number =>
  Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry));

/** The coded error of a cancelled operation: what was cancelled, with the signal's reason as the cause. */
export const abortedError = (what: string, reason: unknown): KsailError =>
  isKsailError(reason, 'aborted')
    ? reason
    : new KsailError('aborted', `${what} was cancelled`, { cause: reason });

export interface RetryOptions {
  policy: RetryPolicy;
  clock: Clock;
  /** For the abort error: what is being retried. */
  what: string;
  signal?: AbortSignal | undefined;
  /**
   * The delay before the next attempt after `error` (`retry` retries so far), or undefined to give up and throw
   * the error. Default: the policy's backoff for every error.
   */
  delayFor?: (error: unknown, retry: number, backoffMs: number) => number | undefined;
  /** Called before each wait, for a debug log. */
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
}

/**
 * Runs `run` until it succeeds, the policy's attempts are spent, or `delayFor` gives up; then throws the last
 * error. A wait the signal cancels throws `aborted`, and so does an attempt that starts after the abort.
 */
export const withRetry = async <T>(
  run: () => Promise<T>,
  options: RetryOptions,
): Promise<{ value: T; attempts: number }> => {
  const { policy, signal } = options;
  for (let retry = 0; ; retry++) {
    if (signal?.aborted) throw abortedError(options.what, signal.reason);
    let delay: number | undefined;
    try {
      return { value: await run(), attempts: retry + 1 };
    } catch (error) {
      if (signal?.aborted) throw abortedError(options.what, signal.reason);
      const backoff = backoffDelay(policy, retry);
      const last = policy.attempts !== undefined && retry + 1 >= policy.attempts;
      delay = last ? undefined : options.delayFor ? options.delayFor(error, retry, backoff) : backoff;
      if (delay === undefined) throw error;
      options.onRetry?.(error, retry + 1, delay);
    }
    try {
      await options.clock.sleep(delay, signal);
    } catch (error) {
      throw abortedError(options.what, signal?.reason ?? error);
    }
  }
};
