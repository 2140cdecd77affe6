import type { Clock } from '../../clock.js';
import { KsailError, isKsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { abortedError, withRetry, type RetryPolicy } from '../../retry.js';
import { registryHttpStatus } from './registry-errors.js';

export interface RegistryRetryOptions {
  clock: Clock;
  logger: Logger;
  /** How long the registry may stay silent (refused connections, timeouts) before we give up. */
  unreachableBudgetMs: number;
  /** Retries for 5xx and 429 answers. */
  maxRetries: number;
  backoff: RetryPolicy;
  /** A longer `Retry-After` is not worth blocking a save for: fail instead. */
  maxRetryAfterMs: number;
}

/**
 * Shared by every attempt of one operation. The unreachable budget counts from the last sign of life, so a
 * registry that answers 500 and then refuses connections still gets the whole budget, and a hung registry
 * (accepts, never answers) is cut off by the same deadline.
 */
export interface AttemptContext {
  readonly signal: AbortSignal | undefined;
  /** Epoch ms after which a silent registry counts as unreachable. */
  readonly deadline: number;
  /** Called when the registry answered anything. */
  alive(): void;
}

/** Attempts need some time of their own: do not retry when less than this remains of the budget. */
const MIN_ATTEMPT_MS = 100;

/** `Retry-After` in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export const parseRetryAfter = (value: string | null, now: number): number | undefined => {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

/** 5xx (except 501 Not Implemented, which will not change) and 429 are worth another attempt. */
export const isRetryableStatus = (status: number): boolean =>
  status === 429 || (status >= 500 && status <= 599 && status !== 501);

export const registryAborted = (reason: unknown): KsailError => abortedError('registry request', reason);

/**
 * Runs `attempt` until it succeeds, or fails in a way another attempt will not fix. `attempt` throws
 * `registry-unreachable` for network failures and `registry-http` with `details.status` for answers.
 */
export const retryRegistry = async <T>(
  options: RegistryRetryOptions,
  signal: AbortSignal | undefined,
  attempt: (context: AttemptContext) => Promise<T>,
): Promise<T> => {
  const { clock } = options;
  let deadline = clock.now() + options.unreachableBudgetMs;
  const context: AttemptContext = {
    signal,
    get deadline() {
      return deadline;
    },
    alive: () => {
      deadline = clock.now() + options.unreachableBudgetMs;
    },
  };
  let statusRetries = 0;
  const delayFor = (error: unknown, _retry: number, backoff: number): number | undefined => {
    if (isKsailError(error, 'registry-unreachable')) {
      return clock.now() + backoff + MIN_ATTEMPT_MS > deadline ? undefined : backoff;
    }
    if (!isKsailError(error, 'registry-http')) return undefined;
    const { status } = registryHttpStatus(error);
    if (status === undefined || !isRetryableStatus(status) || statusRetries >= options.maxRetries)
      return undefined;
    const retryAfter = typeof error.details.retryAfterMs === 'number' ? error.details.retryAfterMs : 0;
    if (retryAfter > options.maxRetryAfterMs) return undefined;
    statusRetries += 1;
    return Math.max(backoff, retryAfter);
  };
  const { value } = await withRetry(() => attempt(context), {
    policy: options.backoff,
    clock,
    what: 'registry request',
    signal,
    delayFor,
    onRetry: (error, retry, delayMs) =>
      options.logger.debug('registry request retry', {
        code: error instanceof KsailError ? error.code : 'unknown',
        ...(error instanceof KsailError ? error.details : {}),
        retry,
        delayMs,
      }),
  });
  return value;
};
