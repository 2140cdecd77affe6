import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.js';
import { createEventBus } from '../../../src/daemon/event-bus.js';
import { Timeline, TIMELINE_LIMIT } from '../../../src/daemon/timeline.js';
import { createSilentLogger } from '../../../src/logger.js';

/** The dashboard's chart data, read off the event bus: which save each version came from, and when it arrived. */
const setUp = () => {
  let now = Date.parse('2025-01-01T10:00:00.000Z');
  const clock = { now: () => now } as Clock;
  const bus = createEventBus({ clock, logger: createSilentLogger() });
  const timeline = new Timeline(bus);
  const at = (ms: number, emit: () => void): void => {
    now = Date.parse('2025-01-01T10:00:00.000Z') + ms;
    emit();
  };
  return { bus, timeline, at };
};

describe('Timeline', () => {
  it('times a version from the save its build covered, also across a failed build that is retried', () => {
    const { bus, timeline, at } = setUp();
    at(0, () => bus.emit('change', 'app', { path: 'a.yaml' }));
    at(100, () => bus.emit('change', 'app', { path: 'a.yaml' }));
    at(350, () => bus.emit('build', 'app'));
    at(400, () => bus.emit('error', 'app', { code: 'registry-unreachable' }));
    // The retried build covers the same save, so the version is timed from it.
    at(900, () => bus.emit('build', 'app'));
    at(1000, () => bus.emit('push', 'app', { version: '1.0.1' }));
    at(1100, () => bus.emit('patch', 'app', { tag: '1.0.1' }));
    at(2100, () =>
      bus.emit('reconcile-finished', 'app', {
        outcome: 'succeeded',
        results: [{ revision: '1.0.1@sha256:x' }],
      }),
    );
    expect(timeline.of('app')).toEqual([
      {
        version: '1.0.1',
        savedAt: '2025-01-01T10:00:00.100Z',
        pushedAt: '2025-01-01T10:00:01.000Z',
        patchedAt: '2025-01-01T10:00:01.100Z',
        appliedAt: '2025-01-01T10:00:02.100Z',
        toPushMs: 900,
        toPatchMs: 1000,
        toApplyMs: 2000,
      },
    ]);
  });

  it('a start-up push has no save; an unchanged build forgets its save; a failed reconcile applies nothing', () => {
    const { bus, timeline, at } = setUp();
    at(0, () => bus.emit('build', 'app'));
    at(10, () => bus.emit('push', 'app', { version: '1.0.0' }));
    at(20, () => bus.emit('change', 'app', { path: 'a.yaml' }));
    at(30, () => bus.emit('build', 'app'));
    at(40, () => bus.emit('unchanged', 'app', { version: '1.0.0' }));
    at(50, () => bus.emit('build', 'app'));
    at(60, () => bus.emit('push', 'app', { version: '1.0.1' }));
    at(70, () =>
      bus.emit('reconcile-finished', 'app', { outcome: 'failed', results: [{ error: 'BuildFailed' }] }),
    );
    expect(timeline.of('app')).toEqual([
      { version: '1.0.0', pushedAt: '2025-01-01T10:00:00.010Z' },
      { version: '1.0.1', pushedAt: '2025-01-01T10:00:00.060Z' },
    ]);
  });

  it(`keeps the latest ${TIMELINE_LIMIT} versions per source, and forgets a removed source`, () => {
    const { bus, timeline, at } = setUp();
    for (let i = 0; i < TIMELINE_LIMIT + 5; i++)
      at(i, () => bus.emit('push', 'app', { version: `1.0.${i}` }));
    at(100, () => bus.emit('push', 'web', { version: '2.0.0' }));
    expect(timeline.of('app').map((t) => t.version)).toEqual(
      Array.from({ length: TIMELINE_LIMIT }, (_, i) => `1.0.${i + 5}`),
    );
    timeline.remove('app');
    expect(timeline.of('app')).toEqual([]);
    expect(timeline.of('web')).toHaveLength(1);
    timeline.close();
    at(200, () => bus.emit('push', 'web', { version: '2.0.1' }));
    expect(timeline.of('web')).toHaveLength(1);
  });
});
