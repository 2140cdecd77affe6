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
      debouncer: createDebouncer({
        quietMs: 250,
        burstQuietMs: 250,
        maxWaitMs: 5000,
        clock: systemClock,
        onFire,
      }),
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

  const adaptive = () => {
    const onFire = vi.fn();
    return {
      onFire,
      debouncer: createDebouncer({
        quietMs: 50,
        burstQuietMs: 250,
        maxWaitMs: 5000,
        clock: systemClock,
        onFire,
      }),
    };
  };

  it('fires a lone save after the short quiet period, even when the editor sent a few events', () => {
    const { onFire, debouncer } = adaptive();
    debouncer.poke();
    vi.advanceTimersByTime(1);
    debouncer.poke();
    debouncer.poke();
    vi.advanceTimersByTime(49);
    expect(onFire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onFire).toHaveBeenCalledWith('quiet');
  });

  it('extends the quiet period while a burst goes on, up to the burst quiet period', () => {
    const { onFire, debouncer } = adaptive();
    // A checkout: 200 files in about half a second, with gaps of up to 30 ms.
    for (let i = 0; i < 200; i++) {
      vi.advanceTimersByTime(i % 20 === 19 ? 30 : 1);
      debouncer.poke();
    }
    expect(onFire).not.toHaveBeenCalled();
    // The burst lasted longer than 250 ms: the wait after its last event is the longest one, 250 ms.
    vi.advanceTimersByTime(249);
    expect(onFire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onFire).toHaveBeenCalledTimes(1);
  });

  it('keeps the burst across a fire: events after a build started in a pause wait as long as the burst', () => {
    const { onFire, debouncer } = adaptive();
    debouncer.poke();
    vi.advanceTimersByTime(50);
    expect(onFire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(70);
    // 120 ms into the burst: the next wait is 120 ms, not 50.
    debouncer.poke();
    vi.advanceTimersByTime(119);
    expect(onFire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(onFire).toHaveBeenCalledTimes(2);
    // A save long after is a lone save again.
    vi.advanceTimersByTime(1000);
    debouncer.poke();
    vi.advanceTimersByTime(50);
    expect(onFire).toHaveBeenCalledTimes(3);
  });

  it('says when it fires at the cap', () => {
    const { onFire, debouncer } = adaptive();
    for (let elapsed = 0; elapsed < 5000; elapsed += 20) {
      debouncer.poke();
      vi.advanceTimersByTime(20);
    }
    expect(onFire.mock.calls).toEqual([['max-wait']]);
  });

  it('cancel drops a scheduled fire', () => {
    const { onFire, debouncer } = make();
    debouncer.poke();
    debouncer.cancel();
    vi.advanceTimersByTime(10_000);
    expect(onFire).not.toHaveBeenCalled();
  });
});
