import { systemClock, type Clock } from '../../src/clock.js';

/**
 * A clock whose sleeps return at once, advancing `now` and recording each delay: for retry schedules. A sleep
 * with an aborted signal rejects with its reason, as the real clock's does. Timers and timeouts stay real, so a
 * request's deadline still bounds it.
 */
export const createInstantClock = (start = 1_000_000): Clock & { sleeps: number[] } => {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    after: (ms, callback) => systemClock.after(ms, callback),
    timeout: (ms) => systemClock.timeout(ms),
    sleep: (ms, signal) => {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
};
