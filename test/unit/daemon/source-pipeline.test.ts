import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { createEventBus } from '../../../src/daemon/event-bus.js';
import { SourcePipeline } from '../../../src/daemon/pipeline/source-pipeline.js';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import type { PublishResult } from '../../../src/publish/publish-types.js';
import { FakePublisher, makeConfig } from './fakes.js';

const setup = (options: { paused?: () => boolean; quietMs?: number; burstQuietMs?: number } = {}) => {
  const publisher = new FakePublisher();
  const published: { result: PublishResult; first: boolean }[] = [];
  const logger = createSilentLogger();
  const bus = createEventBus({ clock: systemClock, logger });
  const events: string[] = [];
  bus.subscribe((event) => events.push(event.type));
  const [source] = makeConfig(['app']).sources;
  const pipeline = new SourcePipeline({
    source: source!,
    publisher,
    clock: systemClock,
    bus,
    logger,
    quietMs: options.quietMs ?? 250,
    burstQuietMs: options.burstQuietMs ?? 250,
    maxWaitMs: 5000,
    isPaused: options.paused ?? (() => false),
    onPublished: (result, first) => published.push({ result, first }),
    retry: { baseMs: 1000, maxMs: 8000 },
  });
  return { publisher, published, pipeline, events };
};

describe('SourcePipeline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs once, a quiet period after a burst of events', async () => {
    const { publisher, pipeline } = setup();
    for (let i = 0; i < 20; i++) {
      pipeline.notify('change', `file-${i}.yaml`);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(pipeline.snapshot().state).toBe('waiting');
    await vi.advanceTimersByTimeAsync(239);
    expect(publisher.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(publisher.calls).toEqual(['app']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.calls).toEqual(['app']);
  });

  it('runs at maxWait while events keep coming', async () => {
    const { publisher, pipeline } = setup();
    for (let elapsed = 0; elapsed < 5000; elapsed += 100) {
      pipeline.notify('change', 'deploy.yaml');
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(publisher.calls).toEqual(['app']);
  });

  it('events during a run drop it (nothing half-read is tagged); one follow-up run pushes the latest content', async () => {
    const { publisher, pipeline, published, events } = setup();
    publisher.hold();
    pipeline.trigger();
    expect(pipeline.snapshot().state).toBe('building');
    for (let i = 0; i < 5; i++) {
      publisher.content.set('app', `edit-${i}`);
      pipeline.notify('change', 'deploy.yaml');
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(publisher.calls).toHaveLength(1);
    publisher.release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(publisher.calls).toHaveLength(2);
    expect(publisher.pushed.map((push) => push.content)).toEqual(['edit-4']);
    expect(published.map((entry) => entry.first)).toEqual([true]);
    expect(events.filter((type) => ['dropped', 'push'].includes(type))).toEqual(['dropped', 'push']);
    expect(pipeline.snapshot().state).toBe('idle');
  });

  it('drops a build that a lone save started in a pause of a burst, then pushes once at its end', async () => {
    const { publisher, pipeline, events } = setup({ quietMs: 50, burstQuietMs: 250 });
    // The first file of a checkout, then a 60 ms pause (longer than a lone save's quiet period), then the rest,
    // which arrives while the build started by the pause is still reading.
    publisher.content.set('app', 'file-0');
    publisher.hold();
    pipeline.notify('add', 'file-0.yaml');
    await vi.advanceTimersByTimeAsync(50);
    expect(publisher.calls).toEqual(['app']);
    for (let i = 1; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(i === 1 ? 60 : 20);
      publisher.content.set('app', `file-${i}`);
      pipeline.notify('add', `file-${i}.yaml`);
    }
    publisher.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toContain('dropped');
    expect(publisher.pushed).toEqual([]);
    // The burst lasted about 430 ms, so its quiet period is the longest one: 250 ms after the last file.
    await vi.advanceTimersByTimeAsync(249);
    expect(publisher.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(publisher.pushed.map((push) => push.content)).toEqual(['file-19']);
    expect(publisher.calls).toHaveLength(2);
  });

  it('never drops the run maxWait started: a file rewritten without pause still ships', async () => {
    const { publisher, pipeline, events } = setup({ quietMs: 50, burstQuietMs: 250 });
    publisher.hold();
    for (let elapsed = 0; elapsed < 5500; elapsed += 20) {
      publisher.content.set('app', `rewrite-${elapsed}`);
      pipeline.notify('change', 'deploy.yaml');
      await vi.advanceTimersByTimeAsync(20);
    }
    // The cap started a run at 5 s; the writes went on during it.
    expect(publisher.calls).toEqual(['app']);
    publisher.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).not.toContain('dropped');
    expect(publisher.pushed).toHaveLength(1);
  });

  it('reports building until the content differs, then pushing until the upload ends', async () => {
    const { publisher, pipeline } = setup();
    let upload!: () => void;
    publisher.pushGate = new Promise((resolve) => (upload = resolve));
    publisher.hold();
    pipeline.trigger();
    expect(pipeline.snapshot().state).toBe('building');
    publisher.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(pipeline.snapshot().state).toBe('pushing');
    upload();
    await vi.advanceTimersByTimeAsync(0);
    expect(pipeline.snapshot()).toMatchObject({ state: 'idle', lastVersion: '1.0.0' });

    // Unchanged content never reaches the upload, so it is never reported as pushing.
    publisher.pushGate = new Promise(() => undefined);
    publisher.hold();
    pipeline.trigger();
    publisher.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(pipeline.snapshot().state).toBe('idle');
  });

  it('a save that changes nothing is unchanged', async () => {
    const { publisher, pipeline, published } = setup();
    publisher.seed('app', 'same', 3);
    pipeline.notify('change', 'deploy.yaml');
    await vi.advanceTimersByTimeAsync(250);
    expect(publisher.pushed).toEqual([]);
    expect(published[0]?.result.outcome).toBe('unchanged');
    expect(pipeline.snapshot()).toMatchObject({ lastVersion: '1.0.3', state: 'idle' });
  });

  it('retries with capped backoff while the registry is down, then pushes the latest content', async () => {
    const { publisher, pipeline } = setup();
    publisher.failWith = () =>
      new KsailError('registry-unreachable', 'registry localhost:5050 does not answer');
    pipeline.trigger();
    await vi.advanceTimersByTimeAsync(0);
    expect(pipeline.snapshot()).toMatchObject({
      state: 'retrying',
      lastError: expect.stringContaining('does not answer'),
    });
    // Backoff 1 s, 2 s, 4 s, 8 s, 8 s: attempts at t = 0, 1, 3, 7, 15, 23.
    await vi.advanceTimersByTimeAsync(23_000);
    expect(publisher.calls).toHaveLength(6);
    publisher.content.set('app', 'edited-while-down');
    publisher.failWith = undefined;
    await vi.advanceTimersByTimeAsync(8000);
    expect(publisher.calls).toHaveLength(7);
    expect(publisher.pushed.map((push) => push.content)).toEqual(['edited-while-down']);
    expect(pipeline.snapshot().state).toBe('idle');
    expect(pipeline.snapshot().lastError).toBeUndefined();
  });

  it('an invalid manifest shows as an error until the next valid save', async () => {
    const { publisher, pipeline } = setup();
    publisher.failWith = () =>
      // As validateManifests writes it: every problem is in the message.
      new KsailError(
        'manifest-invalid',
        'source /srv/test/app has 1 invalid manifest; fix them and save again:\ndeploy.yaml:3:7 bad indentation',
        {
          details: { problems: [{ file: 'deploy.yaml', line: 3, column: 7, message: 'bad indentation' }] },
        },
      );
    pipeline.trigger();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(publisher.calls).toHaveLength(1);
    expect(pipeline.snapshot()).toMatchObject({
      state: 'error',
      lastError: expect.stringContaining('deploy.yaml:3:7'),
    });
    publisher.failWith = undefined;
    pipeline.notify('change', 'deploy.yaml');
    await vi.advanceTimersByTimeAsync(250);
    expect(publisher.pushed).toHaveLength(1);
    expect(pipeline.snapshot().state).toBe('idle');
    expect(pipeline.snapshot().lastError).toBeUndefined();
  });

  it('records changes while paused and runs them on resume', async () => {
    let paused = true;
    const { publisher, pipeline } = setup({ paused: () => paused });
    pipeline.notify('change', 'deploy.yaml');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.calls).toHaveLength(0);
    expect(pipeline.snapshot().state).toBe('paused');
    paused = false;
    pipeline.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(publisher.calls).toHaveLength(1);
  });

  it('an explicit push runs while paused', async () => {
    const { publisher, pipeline } = setup({ paused: () => true });
    pipeline.trigger(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(publisher.calls).toHaveLength(1);
  });

  it('close waits for the run in flight and schedules nothing after', async () => {
    const { publisher, pipeline } = setup();
    publisher.hold();
    pipeline.trigger();
    let closed = false;
    const closing = pipeline.close().then(() => (closed = true));
    pipeline.notify('change', 'deploy.yaml');
    await vi.advanceTimersByTimeAsync(1000);
    expect(closed).toBe(false);
    publisher.release();
    await closing;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.calls).toHaveLength(1);
  });

  it('a run that fails while closing leaves no retry timer behind (it held the process 1 s after SIGTERM)', async () => {
    const { publisher, pipeline } = setup();
    publisher.failWith = () => new KsailError('registry-unreachable', 'registry does not answer');
    publisher.hold();
    pipeline.trigger();
    const closing = pipeline.close();
    publisher.release();
    await closing;
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publisher.calls).toHaveLength(1);
  });
});
