import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeConfig, makeHarness, type Harness } from './fakes.js';

let harness: Harness | undefined;

const start = async (raw: Record<string, unknown> = {}): Promise<Harness> => {
  harness = makeHarness(makeConfig(['app'], raw));
  await harness.daemon.start();
  await vi.advanceTimersByTimeAsync(0);
  return harness;
};

const save = async (h: Harness, content: string): Promise<void> => {
  h.publisher.content.set('app', content);
  h.watchers.emit('app');
  await vi.advanceTimersByTimeAsync(250);
};

/** Flux collapses requests (it records the last requestedAt it read); the daemon must not wait for an older one. */
describe('a push that overtakes a running reconcile', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await harness?.daemon.close();
    harness = undefined;
    vi.useRealTimers();
  });

  it('ends the older request as superseded at once, naming the new version; the newest reports the revision', async () => {
    const h = await start();
    let release = (): void => undefined;
    h.flux.gate = new Promise<void>((resolve) => (release = resolve));
    await save(h, 'v2');
    await vi.waitFor(() => expect(h.flux.inFlight).toBe(1));
    const first = h.daemon.control.status().recentRequests.find((request) => request.outcome === 'running')!;
    expect(h.flux.reconciled.at(-1)?.expected).toEqual({ app: { tag: '1.0.1', digest: 'sha256:m-1.0.1' } });

    await save(h, 'v3');
    expect(h.daemon.control.request(first.id)).toMatchObject({
      outcome: 'superseded',
      supersededBy: '1.0.2',
    });
    release();
    await vi.waitFor(() => {
      const newest = h.daemon.control.status().recentRequests[0]!;
      expect(newest).toMatchObject({
        outcome: 'succeeded',
        results: [{ source: 'app', revision: '1.0.2@sha256:m-1.0.2' }],
      });
    });
    // One request per source at a time, so Flux never sees two tokens racing.
    expect(h.flux.maxInFlight).toBe(1);
    expect(h.daemon.control.status().recentRequests.map((request) => request.outcome)).not.toContain(
      'failed',
    );
  });

  it('in Manual mode, a push during a triggered reconcile supersedes it and is held for the next trigger', async () => {
    const h = await start({ flux: { mode: 'Manual' } });
    let release = (): void => undefined;
    h.flux.gate = new Promise<void>((resolve) => (release = resolve));
    const triggered = h.daemon.control.reconcile({ sources: ['app'], wait: true });
    await vi.waitFor(() => expect(h.flux.inFlight).toBe(1));
    await save(h, 'v2');
    const [request] = (await triggered).requests;
    expect(request).toMatchObject({ outcome: 'superseded', supersededBy: '1.0.1' });
    release();
    const app = h.daemon.control.status().sources[0]!;
    expect(app.pendingRequests).toHaveLength(1);
    expect(h.daemon.control.request(app.pendingRequests[0]!)).toMatchObject({ outcome: 'pending' });
  });

  it('a trigger while the same version reconciles joins that request instead of racing it', async () => {
    const h = await start({ flux: { mode: 'Manual' } });
    let release = (): void => undefined;
    h.flux.gate = new Promise<void>((resolve) => (release = resolve));
    const first = h.daemon.control.reconcile({ sources: ['app'], wait: true });
    await vi.waitFor(() => expect(h.flux.inFlight).toBe(1));
    const second = h.daemon.control.reconcile({ sources: ['app'], wait: true });
    release();
    const [a, b] = [(await first).requests[0], (await second).requests[0]];
    expect(a?.id).toBe(b?.id);
    expect(a).toMatchObject({ outcome: 'succeeded' });
    expect(h.flux.reconciled).toHaveLength(1);
  });
});
