/**
 * Tokens for Flux's `reconcile.fluxcd.io/requestedAt` annotation. The controller copies the value to
 * `status.lastHandledReconcileAt`, so each request needs a value no earlier request used: an RFC 3339 time with
 * nanoseconds, made strictly increasing so two requests in the same millisecond still differ.
 */
export interface RequestedAtTokens {
  next(): string;
}

const NANOS_PER_MS = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;

/** `2026-11-26T10:11:12.123456789Z` from nanoseconds since the epoch. */
export const formatRequestedAt = (epochNanos: bigint): string => {
  const seconds = epochNanos / NANOS_PER_SECOND;
  const nanos = (epochNanos % NANOS_PER_SECOND).toString().padStart(9, '0');
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${nanos}Z`);
};

export const REQUESTED_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

export const createRequestedAtTokens = (
  options: { now?: () => number; hrtime?: () => bigint } = {},
): RequestedAtTokens => {
  const now = options.now ?? ((): number => Date.now());
  const hrtime = options.hrtime ?? ((): bigint => process.hrtime.bigint());
  let last = 0n;
  return {
    next: () => {
      // Wall-clock milliseconds plus sub-millisecond digits from the monotonic clock; the guard keeps order even
      // when the wall clock stands still or steps back.
      let candidate = BigInt(Math.floor(now())) * NANOS_PER_MS + (hrtime() % NANOS_PER_MS);
      if (candidate <= last) candidate = last + 1n;
      last = candidate;
      return formatRequestedAt(candidate);
    },
  };
};

/** Milliseconds since the epoch of a token (for durations and logs). */
export const requestedAtMs = (token: string): number => Date.parse(token.replace(/(\.\d{3})\d*Z$/, '$1Z'));
