import type { Clock } from '../clock.js';

/**
 * Waits for the promises to settle, but at most `ms`: shutdown must not hang on a registry or cluster that stopped
 * answering. Returns whether everything settled in time; the timer is cancelled so it keeps nothing alive.
 */
export const settleWithin = async (
  clock: Clock,
  ms: number,
  promises: readonly (Promise<unknown> | undefined)[],
): Promise<boolean> => {
  const timeout = new AbortController();
  const all = Promise.allSettled(promises.filter((promise) => promise !== undefined)).then(() => true);
  const timer = clock.sleep(ms, timeout.signal).then(
    () => false,
    () => true,
  );
  try {
    return await Promise.race([all, timer]);
  } finally {
    timeout.abort();
  }
};
