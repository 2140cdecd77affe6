import { describe, expect, it } from 'vitest';
import {
  createRequestedAtTokens,
  formatRequestedAt,
  REQUESTED_AT_PATTERN,
  requestedAtMs,
} from '../../../src/flux/requested-at.js';

describe('requestedAt tokens', () => {
  it('formats RFC 3339 with nanoseconds', () => {
    expect(formatRequestedAt(1_795_687_872_123_456_789n)).toBe('2026-11-26T10:11:12.123456789Z');
    expect(formatRequestedAt(1_795_687_872_000_000_001n)).toBe('2026-11-26T10:11:12.000000001Z');
  });

  it('uses the wall clock for the milliseconds and the monotonic clock below them', () => {
    const tokens = createRequestedAtTokens({ now: () => 1_795_687_872_123, hrtime: () => 99_000_456_789n });
    const token = tokens.next();
    expect(token).toBe('2026-11-26T10:11:12.123456789Z');
    expect(token).toMatch(REQUESTED_AT_PATTERN);
    expect(requestedAtMs(token)).toBe(1_795_687_872_123);
  });

  it('never repeats, even when both clocks stand still or the wall clock steps back', () => {
    let now = 1_795_687_872_123;
    const tokens = createRequestedAtTokens({ now: () => now, hrtime: () => 5n });
    const first = tokens.next();
    const second = tokens.next();
    now -= 1000;
    const third = tokens.next();
    expect(new Set([first, second, third]).size).toBe(3);
    expect([first, second, third]).toEqual([...[first, second, third]].sort());
  });

  it('gives distinct, increasing tokens for many calls in the same millisecond (real clocks)', () => {
    const tokens = createRequestedAtTokens();
    const values = Array.from({ length: 1000 }, () => tokens.next());
    expect(new Set(values).size).toBe(values.length);
    expect(values).toEqual([...values].sort());
    for (const value of values) expect(value).toMatch(REQUESTED_AT_PATTERN);
  });
});
