import { describe, expect, it } from 'vitest';
import { daemonWaitLimit, WAIT_MARGIN_MS } from '../../../src/cli/reconcile.js';
import type { ResolvedConfig } from '../../../src/config/schema.js';

/** Issue #13: `reconcile --wait` through the daemon waits as long as the daemon may take, and says which limit ended it. */
const config = (reconcileTimeout: string, reconcileTimeoutMs: number, sources: number, concurrency = 2) =>
  ({
    flux: { reconcileTimeout, reconcileTimeoutMs, concurrency },
    sources: Array.from({ length: sources }, (_, index) => ({ name: `s${index}` })),
  }) as unknown as ResolvedConfig;

describe('the wait limit of reconcile --wait through the daemon', () => {
  it('is flux.reconcileTimeout plus the margin for up to flux.concurrency sources', () => {
    expect(daemonWaitLimit(config('2m', 120_000, 1), []).ms).toBe(120_000 + WAIT_MARGIN_MS);
    expect(daemonWaitLimit(config('2m', 120_000, 5), ['s0', 's1']).ms).toBe(120_000 + WAIT_MARGIN_MS);
  });

  it('grows with each round of flux.concurrency sources', () => {
    expect(daemonWaitLimit(config('1m', 60_000, 5), []).ms).toBe(3 * 60_000 + WAIT_MARGIN_MS);
  });

  it('says that it was this limit, and that the request goes on in the daemon', () => {
    const error = daemonWaitLimit(config('2m', 120_000, 1), []).error();
    expect(error.code).toBe('reconcile-timeout');
    expect(error.message).toBe(
      'stopped waiting for the daemon after 150 s (flux.reconcileTimeout 2m, plus 30 s); the request goes on in the daemon: follow it with "ksail-fluxd status"',
    );
  });
});
