import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withGcLock, withRepositoryLock } from '../../../src/registry/runtime/lock.js';
import { createFakeClock, type FakeClock } from '../flux/fake-clock.js';

/** Issue #13: one pusher per repository at a time, across processes; a dead holder's file does not block. */
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('repository lock', () => {
  let dir: string;
  let clock: FakeClock;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-repo-lock-'));
    clock = createFakeClock();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('runs pushes of one repository one after the other, and of two repositories at once', async () => {
    const first = deferred();
    const order: string[] = [];
    const a = withRepositoryLock(
      dir,
      'p/app',
      async () => {
        order.push('a start');
        await first.promise;
        order.push('a end');
      },
      { clock },
    );
    await vi.waitFor(() => expect(order).toEqual(['a start']));
    const b = withRepositoryLock(dir, 'p/app', () => Promise.resolve(void order.push('b')), { clock });
    const other = withRepositoryLock(dir, 'p/other', () => Promise.resolve(void order.push('other')), {
      clock,
    });
    await other;
    await vi.waitFor(() => expect(clock.sleeps.length).toBeGreaterThan(0));
    expect(order).toEqual(['a start', 'other']);
    first.resolve();
    await a;
    await clock.advance(20);
    await b;
    expect(order).toEqual(['a start', 'other', 'a end', 'b']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the lock file of a holder that died (kill -9 mid-push) and goes ahead', async () => {
    const child = execa(process.execPath, ['-e', '']);
    const dead = child.pid!;
    await child;
    // The file name is derived from the repository; write one for the dead pid under that name.
    const file = join(dir, `repo-${createHash('sha256').update('p/app').digest('hex').slice(0, 16)}.lock`);
    await writeFile(file, `${dead}\n`);
    await expect(withRepositoryLock(dir, 'p/app', () => Promise.resolve('pushed'), { clock })).resolves.toBe(
      'pushed',
    );
  });

  it('keeps garbage collection waiting while a repository push runs', async () => {
    const push = deferred();
    const events: string[] = [];
    const pushing = withRepositoryLock(
      dir,
      'p/app',
      () => push.promise.then(() => void events.push('push')),
      {
        clock,
      },
    );
    await vi.waitFor(async () => expect((await readdir(dir)).some((f) => f.startsWith('repo-'))).toBe(true));
    const gc = withGcLock(dir, () => Promise.resolve(void events.push('gc')), { clock });
    await vi.waitFor(() => expect(clock.sleeps.length).toBeGreaterThan(0));
    expect(events).toEqual([]);
    push.resolve();
    await pushing;
    await clock.advance(100);
    await gc;
    expect(events).toEqual(['push', 'gc']);
  });
});
