import { describe, expect, it } from 'vitest';
import { isKsailError } from '../../../src/errors.js';
import { backoffDelay, withRetry } from '../../../src/retry.js';
import { createInstantClock } from '../../support/instant-clock.js';
import { rejectionOf } from '../../support/rejection.js';

const failing = (times: number) => {
  let calls = 0;
  return {
    run: () => (++calls <= times ? Promise.reject(new Error(`fail ${calls}`)) : Promise.resolve(calls)),
    calls: () => calls,
  };
};

describe('withRetry', () => {
  it('backs off exponentially up to the cap and returns the attempts it took', async () => {
    const clock = createInstantClock();
    const op = failing(4);
    const result = await withRetry(op.run, { policy: { baseMs: 100, maxMs: 500 }, clock, what: 'test' });
    expect(result).toEqual({ value: 5, attempts: 5 });
    expect(clock.sleeps).toEqual([100, 200, 400, 500]);
    expect(backoffDelay({ baseMs: 100, maxMs: 500 }, 10)).toBe(500);
  });

  it('stops after the policy attempts and throws the last error', async () => {
    const clock = createInstantClock();
    const op = failing(10);
    const error = await rejectionOf(
      withRetry(op.run, { policy: { baseMs: 10, maxMs: 10, attempts: 3 }, clock, what: 'test' }),
    );
    expect((error as Error).message).toBe('fail 3');
    expect(op.calls()).toBe(3);
  });

  it('throws at once when delayFor gives up', async () => {
    const clock = createInstantClock();
    const op = failing(10);
    const error = await rejectionOf(
      withRetry(op.run, {
        policy: { baseMs: 10, maxMs: 10 },
        clock,
        what: 'test',
        delayFor: () => undefined,
      }),
    );
    expect((error as Error).message).toBe('fail 1');
    expect(clock.sleeps).toEqual([]);
  });

  it('ends a cancelled wait with the coded aborted error', async () => {
    const clock = createInstantClock();
    const abort = new AbortController();
    const op = failing(10);
    const error = await rejectionOf(
      withRetry(
        () => {
          abort.abort(new Error('stopping'));
          return op.run();
        },
        { policy: { baseMs: 10, maxMs: 10 }, clock, what: 'the tag patch', signal: abort.signal },
      ),
    );
    expect(isKsailError(error, 'aborted')).toBe(true);
    expect((error as Error).message).toBe('the tag patch was cancelled');
    expect(op.calls()).toBe(1);
  });
});
