/**
 * Timers are injected so that the quiet period, its cap and retry backoff are testable without waiting. The system
 * scheduler looks `setTimeout` up at call time, so vitest's fake timers apply to it too.
 */
export interface Scheduler {
  /** Calls `callback` after `ms`; returns a function that cancels the call. */
  after(ms: number, callback: () => void): () => void;
}

export const systemScheduler: Scheduler = {
  after: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};
