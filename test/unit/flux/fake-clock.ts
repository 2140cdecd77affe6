import { clockFrom, type Clock } from '../../../src/clock.js';

/** Lets pending promise callbacks and I/O callbacks run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Timer {
  at: number;
  resolve: () => void;
}

export interface FakeClock extends Clock {
  /** Every sleep requested, in order. */
  readonly sleeps: number[];
  /** Moves time forward, firing due sleeps in order and letting their continuations run. */
  advance(ms: number): Promise<void>;
}

/** A clock that only moves when the test says so. */
export const createFakeClock = (start = 1_000_000): FakeClock => {
  let now = start;
  const timers = new Set<Timer>();
  const sleeps: number[] = [];
  const timed = clockFrom({
    now: () => now,
    after: (ms, callback) => {
      const timer: Timer = { at: now + ms, resolve: callback };
      timers.add(timer);
      return () => timers.delete(timer);
    },
  });
  return {
    sleeps,
    now: () => now,
    after: (ms, callback) => timed.after(ms, callback),
    timeout: (ms) => timed.timeout(ms),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason as Error);
        const timer: Timer = { at: now + ms, resolve };
        timers.add(timer);
        signal?.addEventListener(
          'abort',
          () => {
            timers.delete(timer);
            reject(signal.reason as Error);
          },
          { once: true },
        );
      });
    },
    advance: async (ms) => {
      const target = now + ms;
      for (;;) {
        await settle();
        const due = [...timers].filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due);
        now = due.at;
        due.resolve();
      }
      now = target;
      await settle();
    },
  };
};
