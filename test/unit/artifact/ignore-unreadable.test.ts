import { mkdir } from 'node:fs/promises';
import type * as FsPromises from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIgnoreMatcher } from '../../../src/artifact/ignore.js';
import { KsailError } from '../../../src/errors.js';
import { rejectionOf } from '../../support/rejection.js';
import { tempDirs } from '../../support/temp-dirs.js';

// Tests run as root, which chmod cannot lock out: the kernel's EACCES comes from a stand-in readdir instead.
const denied = new Map<string, string>();
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof FsPromises>();
  return {
    ...real,
    readdir: ((path: string, options: never) =>
      denied.has(String(path))
        ? Promise.reject(
            Object.assign(new Error(`${denied.get(String(path))}: scandir '${path}'`), {
              code: denied.get(String(path)),
            }),
          )
        : real.readdir(path, options)) as typeof real.readdir,
  };
});

const dirs = tempDirs('ksail-fluxd-ignore-');
afterEach(async () => {
  denied.clear();
  await dirs.cleanup();
});

describe('createIgnoreMatcher on an unreadable directory', () => {
  it('reports EACCES with the path and the fix instead of watching without its .sourceignore', async () => {
    const dir = await dirs.make();
    await mkdir(join(dir, 'secret'));
    denied.set(join(dir, 'secret'), 'EACCES');
    const error = await rejectionOf(createIgnoreMatcher(dir), KsailError);
    expect(error.code).toBe('source-unreadable');
    expect(error.message).toContain(join(dir, 'secret'));
    expect(error.message).toContain('EACCES');
  });

  it('still skips a directory that vanished during the walk', async () => {
    const dir = await dirs.make();
    await mkdir(join(dir, 'gone'));
    denied.set(join(dir, 'gone'), 'ENOENT');
    const matcher = await createIgnoreMatcher(dir);
    expect(matcher.ignores('gone/app.yaml', false)).toBe(false);
  });
});
