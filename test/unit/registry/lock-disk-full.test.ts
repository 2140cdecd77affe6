import { execa } from 'execa';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withRepositoryLock } from '../../../src/registry/runtime/lock.js';
import { rejectionOf } from '../../support/rejection.js';

/**
 * Issue #13: a full state directory, on a real 1 MiB tmpfs (mounting needs root; elsewhere this is skipped). The
 * lock's error names the path and what to free, and the same call succeeds once space is back.
 */
const root = process.getuid?.() === 0;
let mounted: string | undefined;

afterEach(async () => {
  if (!mounted) return;
  await execa('umount', [mounted], { reject: false });
  await rm(mounted, { recursive: true, force: true });
  mounted = undefined;
});

/** Writes 64 KiB chunks until the file system is full. */
const fill = async (file: string): Promise<void> => {
  const handle = await open(file, 'w');
  try {
    for (let chunk = 0; chunk < 64; chunk += 1) await handle.write(Buffer.alloc(64 * 1024));
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await handle.close().catch(() => undefined);
  }
};

describe.runIf(root)('push lock on a full disk', () => {
  it('names the path and what to free, and works again once space is back', async () => {
    mounted = await mkdtemp(join(tmpdir(), 'ksail-fluxd-full-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mounted]);
    const locks = join(mounted, 'locks');
    await withRepositoryLock(locks, 'p/app', () => Promise.resolve());
    const filler = join(mounted, 'filler');
    await fill(filler);

    const error = await rejectionOf(withRepositoryLock(locks, 'p/app', () => Promise.resolve('pushed')));
    expect(error).toMatchObject({
      code: 'disk-full',
      details: expect.objectContaining({ directory: locks }),
    });
    expect((error as Error).message).toMatch(
      new RegExp(
        `no space left to write ${locks}/.*free space on the file system of ${locks}.*retried by itself`,
      ),
    );

    await rm(filler);
    await expect(withRepositoryLock(locks, 'p/app', () => Promise.resolve('pushed'))).resolves.toBe('pushed');
  });
});
