import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { createEventBus } from '../../../src/daemon/event-bus.js';
import { SourcePipeline } from '../../../src/daemon/pipeline/source-pipeline.js';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { FakePublisher, makeConfig } from './fakes.js';

/**
 * Issue #13: `ksail-fluxd push` while the daemon runs goes through the source's pipeline, so the daemon is the
 * one pusher: the answer comes from a run that starts after the request (it reads the disk as it is now).
 */
const setup = () => {
  const publisher = new FakePublisher();
  const logger = createSilentLogger();
  const [source] = makeConfig(['app']).sources;
  const pipeline = new SourcePipeline({
    source: source!,
    publisher,
    clock: systemClock,
    bus: createEventBus({ clock: systemClock, logger }),
    logger,
    quietMs: 250,
    burstQuietMs: 250,
    maxWaitMs: 5000,
    isPaused: () => true,
    onPublished: () => undefined,
    retry: { baseMs: 1000, maxMs: 8000 },
  });
  return { publisher, pipeline };
};

describe('SourcePipeline.publishNow', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('answers from a run that starts after the request, even while paused, and never beside a run', async () => {
    const { publisher, pipeline } = setup();
    publisher.hold();
    const first = pipeline.publishNow();
    await vi.advanceTimersByTimeAsync(0);
    // A second push during the first run is answered by a run of its own, after it.
    const second = pipeline.publishNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(publisher.calls).toEqual(['app']);
    publisher.release();
    await expect(first).resolves.toMatchObject({ outcome: 'pushed', version: '1.0.0' });
    await expect(second).resolves.toMatchObject({ outcome: 'unchanged', version: '1.0.0' });
    expect(publisher.calls).toEqual(['app', 'app']);
  });

  it('rejects with the run’s error, and with aborted when the pipeline closes', async () => {
    const { publisher, pipeline } = setup();
    publisher.failWith = () => new KsailError('registry-unreachable', 'registry down');
    await expect(pipeline.publishNow()).rejects.toMatchObject({ code: 'registry-unreachable' });
    await pipeline.close();
    await expect(pipeline.publishNow()).rejects.toMatchObject({ code: 'aborted' });
  });
});
