import { describe, expect, it } from 'vitest';
import { ClusterHealth } from '../../../src/daemon/cluster-sync/cluster-health.js';
import { KsailError } from '../../../src/errors.js';
import { createFakeClock, settle } from '../flux/fake-clock.js';

/**
 * Issue #13: a tag write over a hung API server retries for a minute; the probe beside it must turn status to
 * unreachable within seconds, and back once the server answers, while the write goes on.
 */
const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('cluster health probe', () => {
  it('reports a hung API while a write still retries, and recovers when the probe answers again', async () => {
    const clock = createFakeClock();
    let answers = false;
    const probe = () =>
      answers
        ? Promise.resolve()
        : Promise.reject(
            new KsailError('cluster-unreachable', 'cluster "fake" at https://127.0.0.1:6443 did not answer'),
          );
    const health = new ClusterHealth({ clock, probe });
    const write = deferred<string>();
    const tracked = health.track(() => write.promise);

    await clock.advance(499);
    expect(health.view()).toEqual({ reachable: true, state: 'reachable' });
    await clock.advance(1);
    await settle();
    expect(health.view()).toEqual({
      reachable: false,
      state: 'unreachable',
      lastError: 'cluster "fake" at https://127.0.0.1:6443 did not answer',
    });

    answers = true;
    await clock.advance(2_000);
    await settle();
    expect(health.view().reachable).toBe(true);

    write.resolve('patched');
    await expect(tracked).resolves.toBe('patched');
    const sleeps = clock.sleeps.length;
    await clock.advance(10_000);
    expect(clock.sleeps.length).toBe(sleeps);
  });

  it('does not probe a write that ends quickly', async () => {
    const clock = createFakeClock();
    let probes = 0;
    const health = new ClusterHealth({ clock, probe: () => Promise.resolve(void (probes += 1)) });
    await health.track(() => Promise.resolve());
    await clock.advance(5_000);
    expect(probes).toBe(0);
  });
});
