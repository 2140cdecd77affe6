import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDebouncer } from '../../../src/daemon/watch/debounce.js';
import { systemClock } from '../../../src/clock.js';

describe('createDebouncer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const make = () => {
    const onFire = vi.fn();
    return {
      onFire,
      debouncer: createDebouncer({ quietMs: 250, maxWaitMs: 5000, clock: systemClock, onFire }),
    };
  };

  it('fires once, a quiet period after the last poke of a burst', () => {
    const { onFire, debouncer } = make();
    for (let i = 0; i < 10; i++) {
      debouncer.poke();
      vi.advanceTimersByTime(50);
    }
    expect(onFire).not.toHaveBeenCalled();
    expect(debouncer.pending).toBe(true);
    vi.advanceTimersByTime(199);
    expect(onFire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onFire).toHaveBeenCalledTimes(1);
    expect(debouncer.pending).toBe(false);
  });

  it('fires at the cap when pokes never stop', () => {
    const { onFire, debouncer } = make();
    for (let elapsed = 0; elapsed < 4900; elapsed += 100) {
      debouncer.poke();
      vi.advanceTimersByTime(100);
    }
    expect(onFire).not.toHaveBeenCalled();
    debouncer.poke();
    vi.advanceTimersByTime(100);
    expect(onFire).toHaveBeenCalledTimes(1);
    // The next burst starts a new cap.
    debouncer.poke();
    vi.advanceTimersByTime(250);
    expect(onFire).toHaveBeenCalledTimes(2);
  });

  it('cancel drops a scheduled fire', () => {
    const { onFire, debouncer } = make();
    debouncer.poke();
    debouncer.cancel();
    vi.advanceTimersByTime(10_000);
    expect(onFire).not.toHaveBeenCalled();
  });
});
