import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKsailError } from '../../../src/errors.js';
import { withGcLock, withPushLock } from '../../../src/registry/runtime/lock.js';
import { createFakeClock, type FakeClock } from '../flux/fake-clock.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

const deadPid = async (): Promise<number> => {
  const child = execa(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await child;
  return pid;
};

describe('push/GC lock', () => {
  let dir: string;
  let clock: FakeClock;
  const files = async () => (await readdir(dir)).sort();
  const sleepsReach = (n: number) => vi.waitFor(() => expect(clock.sleeps.length).toBeGreaterThanOrEqual(n));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-lock-'));
    clock = createFakeClock();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets GC wait for a push in flight, then run', async () => {
    const push = deferred();
    const pushing = withPushLock(dir, () => push.promise, { clock });
    await vi.waitFor(async () => expect((await files()).some((f) => f.startsWith('push-'))).toBe(true));
    const events: string[] = [];
    const gc = withGcLock(dir, () => Promise.resolve(events.push('gc')), { clock });
    await sleepsReach(1);
    await clock.advance(100);
    await sleepsReach(2);
    expect(events).toEqual([]);
    push.resolve();
    await pushing;
    await clock.advance(100);
    await gc;
    expect(events).toEqual(['gc']);
    expect(await files()).toEqual([]);
  });

  it('holds new pushes off while GC runs, and lets them go afterwards', async () => {
    const collecting = deferred();
    const gc = withGcLock(dir, () => collecting.promise, { clock });
    await vi.waitFor(async () => expect(await files()).toContain('gc.lock'));
    let pushed = false;
    const pushing = withPushLock(dir, () => Promise.resolve((pushed = true)), { clock });
    await sleepsReach(1);
    await clock.advance(100);
    await sleepsReach(2);
    expect(pushed).toBe(false);
    collecting.resolve();
    await gc;
    await clock.advance(100);
    await pushing;
    expect(pushed).toBe(true);
    expect(await files()).toEqual([]);
  });

  it('allows concurrent pushes', async () => {
    const first = deferred();
    const one = withPushLock(dir, () => first.promise, { clock });
    const two = await withPushLock(dir, () => Promise.resolve('second'), { clock });
    expect(two).toBe('second');
    first.resolve();
    await one;
    expect(clock.sleeps).toEqual([]);
  });

  it('removes stale locks of dead processes instead of waiting for them', async () => {
    const pid = await deadPid();
    await writeFile(join(dir, `push-${pid}-x.lock`), `${pid}\n`);
    await expect(withGcLock(dir, () => Promise.resolve('gc'), { clock })).resolves.toBe('gc');
    await writeFile(join(dir, 'gc.lock'), `${pid}\n`);
    await expect(withPushLock(dir, () => Promise.resolve('push'), { clock })).resolves.toBe('push');
    expect(clock.sleeps).toEqual([]);
    expect(await files()).toEqual([]);
  });

  it('serialises garbage collections', async () => {
    const first = deferred();
    const order: string[] = [];
    const one = withGcLock(
      dir,
      async () => {
        order.push('one');
        await first.promise;
      },
      { clock },
    );
    await vi.waitFor(() => expect(order).toEqual(['one']));
    const two = withGcLock(dir, () => Promise.resolve(order.push('two')), { clock });
    await sleepsReach(1);
    first.resolve();
    await one;
    await clock.advance(100);
    await two;
    expect(order).toEqual(['one', 'two']);
  });

  it('gives up after the timeout with an error naming the holder', async () => {
    await writeFile(join(dir, 'gc.lock'), `${process.pid}\n`); // a live holder that never finishes
    const pushing = withPushLock(dir, () => Promise.resolve(), { clock, timeoutMs: 300 });
    const failure = pushing.catch((error: unknown) => error);
    for (let n = 1; n <= 3; n++) {
      await sleepsReach(n);
      await clock.advance(100);
    }
    const error = await failure;
    expect(isKsailError(error, 'lock-timeout')).toBe(true);
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    expect((await files()).filter((f) => f.startsWith('push-'))).toEqual([]);
  });
});
