import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDirs {
  /** A fresh directory under the system temp dir whose name starts with the prefix. */
  make: () => Promise<string>;
  /** Removes every directory `make` returned so far. */
  cleanup: () => Promise<void>;
}

/** Temp directories a test file makes and removes in afterEach/afterAll, so /tmp does not fill up. */
export const tempDirs = (prefix: string): TempDirs => {
  const made: string[] = [];
  return {
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    cleanup: async () => {
      await Promise.allSettled(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
};
