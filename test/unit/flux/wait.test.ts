import { describe, expect, it } from 'vitest';
import { KsailError } from '../../../src/errors.js';
import { evaluateSource } from '../../../src/flux/evaluate.js';
import { waitForObject } from '../../../src/flux/wait.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createFakeClock, settle } from './fake-clock.js';
import { fluxObject } from './flux-objects.js';
import { createFakeWatchAdapter } from './fake-watch-adapter.js';

const TOKEN = '2026-11-26T10:11:12.123456789Z';
const OLD = '2026-11-26T10:00:00.000000001Z';
const REVISION = '1.0.3@sha256:abc';
const ready = { status: 'True' as const, reason: 'Succeeded' };
const stale = fluxObject('OCIRepository', { handled: OLD, ready, revision: '1.0.2@sha256:old' });
const done = fluxObject('OCIRepository', { handled: TOKEN, ready, revision: REVISION });

const setup = (initial = stale, failingWatches = 0) => {
  const fake = createFakeWatchAdapter(initial);
  fake.failNextWatches(failingWatches);
  const clock = createFakeClock();
  const signal = new AbortController();
  const outcome = { value: undefined as string | undefined, error: undefined as unknown };
  const promise = waitForObject({
    adapter: fake.adapter,
    ref: { kind: 'OCIRepository', namespace: 'flux-system', name: 'app' },
    evaluate: (object) => evaluateSource(object, { token: TOKEN, revision: REVISION }),
    timeoutMs: 120_000,
    clock,
    logger: createSilentLogger(),
    signal: signal.signal,
  }).then(
    (value) => {
      outcome.value = value;
    },
    (error: unknown) => {
      outcome.error = error;
    },
  );
  return { fake, clock, outcome, promise, abort: () => signal.abort() };
};

describe('waitForObject', () => {
  it('closes a watch whose first read failed before it opens the next one', async () => {
    const { fake, outcome, promise } = setup();
    fake.failNextGets(1); // the read comes after the watch opens, so this fails the first one
    await settle();
    expect(fake.calls).toEqual({ get: 2, watch: 2 });
    expect(fake.watcherCount()).toBe(1);
    fake.update(done);
    await promise;
    expect(outcome.value).toBe(REVISION);
    expect(fake.watcherCount()).toBe(0);
  });

  it('ignores a stale Ready=True and finishes on the watch event for this request', async () => {
    const { fake, clock, outcome, promise } = setup();
    await settle();
    expect(fake.calls).toEqual({ get: 1, watch: 1 });
    expect(outcome).toEqual({ value: undefined, error: undefined });
    fake.update(
      fluxObject('OCIRepository', { handled: TOKEN, ready: { status: 'Unknown', reason: 'Progressing' } }),
    );
    await settle();
    expect(outcome.value).toBeUndefined();
    fake.update(done);
    await promise;
    expect(outcome.value).toBe(REVISION);
    expect(fake.watcherCount()).toBe(0);
    // Only the timeout was scheduled: no polling.
    expect(clock.sleeps).toEqual([120_000]);
  });

  it('is done at once when the first read already shows the answer', async () => {
    const { outcome, promise } = setup(done);
    await promise;
    expect(outcome.value).toBe(REVISION);
  });

  it("fails fast with Flux's reason and message", async () => {
    const { fake, outcome, promise } = setup();
    await settle();
    fake.update(
      fluxObject('OCIRepository', {
        handled: TOKEN,
        ready: { status: 'False', reason: 'OCIArtifactPullFailed', message: 'failed to pull: 503' },
      }),
    );
    await promise;
    expect(outcome.error).toBeInstanceOf(KsailError);
    expect(outcome.error).toMatchObject({ code: 'reconcile-failed' });
    expect((outcome.error as Error).message).toMatch(
      /OCIRepository flux-system\/app: OCIArtifactPullFailed: failed to pull: 503; .*ksail-fluxd reconcile app/,
    );
  });

  it('times out naming the object and what it last saw', async () => {
    const { clock, outcome, promise } = setup();
    await clock.advance(119_999);
    expect(outcome.error).toBeUndefined();
    await clock.advance(1);
    await promise;
    expect(outcome.error).toMatchObject({ code: 'reconcile-timeout' });
    const message = (outcome.error as Error).message;
    expect(message).toContain('OCIRepository flux-system/app was not reconciled within 2m');
    expect(message).toContain(`lastHandledReconcileAt=${OLD} (waiting for ${TOKEN})`);
  });

  it('re-reads the object after a reconnect, so a change between watches is not missed', async () => {
    const { fake, clock, outcome, promise } = setup();
    await settle();
    await clock.advance(5000);
    fake.closeWatches();
    fake.updateQuietly(done);
    await promise;
    expect(outcome.value).toBe(REVISION);
    expect(fake.calls).toEqual({ get: 2, watch: 2 });
  });

  it('falls back to polling every 2 s after two failed watches', async () => {
    const { fake, clock, outcome, promise } = setup(stale, 2);
    await settle();
    expect(fake.calls.watch).toBe(2);
    const reads = fake.calls.get;
    fake.updateQuietly(fluxObject('OCIRepository', { handled: TOKEN, ready: { status: 'Unknown' } }));
    await clock.advance(2000);
    expect(fake.calls.get).toBe(reads + 1);
    fake.updateQuietly(done);
    await clock.advance(2000);
    await promise;
    expect(outcome.value).toBe(REVISION);
    expect(clock.sleeps.filter((ms) => ms === 2000).length).toBeGreaterThanOrEqual(2);
    expect(fake.calls.watch).toBe(2);
  });

  it('counts quickly closing watches as failures too, and then polls', async () => {
    const { fake, clock, outcome, promise } = setup();
    await settle();
    fake.closeWatches(new KsailError('cluster-http', 'gone'));
    await settle();
    fake.closeWatches(); // a normal close, but within a second of connecting
    await settle();
    expect(fake.calls.watch).toBe(2);
    expect(fake.watcherCount()).toBe(0);
    expect(outcome.value).toBeUndefined();
    // The switch: no third watch, a read every 2 s instead, which finds a change no watch event announced.
    const reads = fake.calls.get;
    await clock.advance(2000);
    expect(fake.calls.get).toBe(reads + 1);
    fake.updateQuietly(done);
    await clock.advance(2000);
    await promise;
    expect(outcome.value).toBe(REVISION);
    expect(fake.calls.watch).toBe(2);
  });

  it('stops when aborted', async () => {
    const { abort, outcome, promise, fake } = setup();
    await settle();
    abort();
    await promise;
    expect(outcome.error).toMatchObject({ code: 'aborted' });
    expect(fake.watcherCount()).toBe(0);
  });
});
