/**
 * The one time abstraction (DEVELOPERS.md, practice 2): the time, sleeps, timers and timeouts all come from the
 * injected clock, so backoff, debounce and every timeout are testable without waiting. `systemClock` looks
 * `setTimeout` and `Date.now` up at call time, so vitest's fake timers apply to it too.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` after `ms`; returns a function that cancels the call. */
  after(ms: number, callback: () => void): () => void;
  /** Resolves after `ms`; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * A signal that aborts with a `TimeoutError` after `ms` (like `AbortSignal.timeout`, whose timer keeps nothing
   * alive), and `cancel` to drop the timer once the guarded work is done.
   */
  timeout(ms: number): { signal: AbortSignal; cancel(): void };
}

export const timeoutReason = (): DOMException =>
  new DOMException('The operation was aborted due to timeout', 'TimeoutError');

/** A whole clock from `now` and `after`: sleeps and timeouts are timers. */
export const clockFrom = (parts: Pick<Clock, 'now' | 'after'>): Clock => ({
  now: () => parts.now(),
  after: (ms, callback) => parts.after(ms, callback),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        cancel();
        reject(signal?.reason as Error);
      };
      const cancel = parts.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  timeout: (ms) => {
    const controller = new AbortController();
    const cancel = parts.after(ms, () => controller.abort(timeoutReason()));
    return { signal: controller.signal, cancel };
  },
});

const systemAfter = (ms: number, callback: () => void, keepAlive = true): (() => void) => {
  const timer = setTimeout(callback, ms);
  if (!keepAlive) timer.unref();
  return () => clearTimeout(timer);
};

export const systemClock: Clock = {
  ...clockFrom({ now: () => Date.now(), after: (ms, callback) => systemAfter(ms, callback) }),
  timeout: (ms) => {
    const controller = new AbortController();
    const cancel = systemAfter(ms, () => controller.abort(timeoutReason()), false);
    return { signal: controller.signal, cancel };
  },
};
