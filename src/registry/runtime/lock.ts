import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { systemClock, type Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';
import { isAlive, parsePid } from './process-files.js';

/**
 * Cross-process lock between pushes and garbage collection (FR-018): GC deletes blobs no manifest references, and a
 * push in flight has uploaded blobs that no manifest references *yet*. Pushes share the lock (one file each,
 * `push-<pid>-<uuid>.lock`); GC holds it exclusively (`gc.lock`). Both write their own file first and then look for
 * the other's, so at least one of two racing parties sees the other; a push that sees GC steps back, so GC wins.
 * Files hold the owner's pid: a file whose process is gone is stale and removed.
 *
 * Within the push lock, each repository has an exclusive lock (`repo-<hash>.lock`, issue #13): choosing the next
 * version and writing its tag is one step per repository across processes, so two pushers (the daemon and a
 * `push`, or two `push` runs) never give one version number two manifests.
 */
export interface LockOptions {
  clock?: Clock;
  /** Give up waiting after this long; default 5 minutes. */
  timeoutMs?: number;
}

const GC_FILE = 'gc.lock';
const PUSH_PATTERN = /^push-.*\.lock$/;
const POLL_MS = 100;

/** The pid in a lock file, or undefined when the file is gone. A file without a valid pid is treated as stale. */
const ownerOf = async (file: string): Promise<number | 'stale' | undefined> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // Only a file that exists is stale: removing one that is missing now could remove another party's new lock.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = parsePid(text);
  return pid !== undefined && (await isAlive(pid)) ? pid : 'stale';
};

/** The pid of a live GC lock holder; removes a stale `gc.lock`. */
const gcHolder = async (dir: string): Promise<number | undefined> => {
  const owner = await ownerOf(join(dir, GC_FILE));
  if (owner === 'stale') {
    await rm(join(dir, GC_FILE), { force: true });
    return undefined;
  }
  return owner;
};

/** Pids of live pushes; removes stale push files. */
const pushHolders = async (dir: string): Promise<number[]> => {
  const holders: number[] = [];
  for (const name of (await readdir(dir)).filter((n) => PUSH_PATTERN.test(n))) {
    const owner = await ownerOf(join(dir, name));
    if (owner === 'stale') await rm(join(dir, name), { force: true });
    else if (owner !== undefined) holders.push(owner);
  }
  return holders;
};

/**
 * Writes a lock file, turning a full disk into an error that names the directory and what to free (issue #13).
 * The daemon's pipeline retries it with backoff, so a push goes ahead by itself once there is room again.
 */
const writeLockFile = async (file: string, pid: number): Promise<void> => {
  try {
    await writeFile(file, `${pid}\n`);
  } catch (error) {
    if (!isDiskFull(error)) throw error;
    await rm(file, { force: true }).catch(() => undefined);
    throw diskFull(file, error);
  }
};

const isDiskFull = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
};

const diskFull = (path: string, error: unknown): KsailError => {
  const code = (error as NodeJS.ErrnoException).code;
  return new KsailError(
    'disk-full',
    `no space left to write ${path} (${code}): free space on the file system of ${dirname(path)} (the state directory, $XDG_STATE_HOME/ksail-fluxd or ~/.local/state/ksail-fluxd; a process registry keeps its artifacts there too: ksail-fluxd prune SOURCE frees old versions); the push is retried by itself once there is room`,
    { cause: error, details: { path, directory: dirname(path), errno: code } },
  );
};

/** Files are written complete and then linked into place, so readers never see a half-written pid. */
const writeAtomically = async (dir: string, file: string, pid: number): Promise<boolean> => {
  const temp = join(dir, `.tmp-${randomUUID()}`);
  await writeLockFile(temp, pid);
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
};

const waiter = (options: LockOptions, what: string) => {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = clock.now() + timeoutMs;
  return async (holders: string): Promise<void> => {
    if (clock.now() >= deadline) {
      throw new KsailError(
        'lock-timeout',
        `waited ${Math.round(timeoutMs / 1000)} s for ${what} (${holders}) to finish; if no such process runs, remove its lock file and retry`,
      );
    }
    await clock.sleep(POLL_MS);
  };
};

/** Creates the lock directory; returns our pid, which every lock file holds. */
const lockDir = async (dir: string): Promise<number> => {
  await mkdir(dir, { recursive: true }).catch((error: unknown) => {
    throw isDiskFull(error) ? diskFull(dir, error) : error;
  });
  return process.pid;
};

/** Runs `fn` while holding the shared push lock: concurrent pushes are fine, garbage collection waits. */
export const withPushLock = async <T>(
  dir: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> => {
  const pid = await lockDir(dir);
  const file = join(dir, `push-${pid}-${randomUUID()}.lock`);
  const wait = waiter(options, 'garbage collection');
  for (;;) {
    let holder = await gcHolder(dir);
    if (holder === undefined) {
      await writeLockFile(file, pid);
      holder = await gcHolder(dir);
      if (holder === undefined) break;
      await rm(file, { force: true }); // GC arrived meanwhile: let it go first
    }
    await wait(`${join(dir, GC_FILE)}, pid ${holder}`);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
};

/** Runs `fn` while holding the exclusive GC lock: waits for pushes in flight and holds off new ones. */
export const withGcLock = async <T>(
  dir: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> => {
  const pid = await lockDir(dir);
  const file = join(dir, GC_FILE);
  const waitForGc = waiter(options, 'another garbage collection');
  while (!(await writeAtomically(dir, file, pid))) {
    const holder = await gcHolder(dir);
    if (holder !== undefined) await waitForGc(`${file}, pid ${holder}`);
  }
  try {
    const waitForPushes = waiter(options, 'pushes in progress');
    for (let pushes = await pushHolders(dir); pushes.length > 0; pushes = await pushHolders(dir)) {
      await waitForPushes(`pids ${[...new Set(pushes)].join(', ')}`);
    }
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
};

const repositoryFile = (dir: string, repository: string): string =>
  join(dir, `repo-${createHash('sha256').update(repository).digest('hex').slice(0, 16)}.lock`);

/** Waiting for another pusher of the same repository polls faster than for GC: pushes of one source are short. */
const REPOSITORY_POLL_MS = 20;

/**
 * Runs `fn` while holding the exclusive lock of one repository (and the shared push lock, so GC waits too). The
 * lock file is linked into place, so exactly one party creates it; a file whose owner died (kill -9 mid-push) is
 * stale and removed. Callers re-read the repository's tags inside `fn`: what they read before may be outdated.
 */
export const withRepositoryLock = async <T>(
  dir: string,
  repository: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> =>
  withPushLock(
    dir,
    async () => {
      const pid = process.pid;
      const file = repositoryFile(dir, repository);
      const clock = options.clock ?? systemClock;
      const timeoutMs = options.timeoutMs ?? 300_000;
      const deadline = clock.now() + timeoutMs;
      while (!(await writeAtomically(dir, file, pid))) {
        const owner = await ownerOf(file);
        if (owner === 'stale') {
          await rm(file, { force: true });
          continue;
        }
        if (owner === undefined) continue;
        if (clock.now() >= deadline) {
          throw new KsailError(
            'lock-timeout',
            `waited ${Math.round(timeoutMs / 1000)} s for another push of ${repository} (pid ${owner}, ${file}) to finish; if no such process runs, remove the file and retry`,
            { details: { repository, file, pid: owner } },
          );
        }
        await clock.sleep(REPOSITORY_POLL_MS);
      }
      try {
        return await fn();
      } finally {
        await rm(file, { force: true });
      }
    },
    options,
  );

/** The repository lock bound to a directory, in the shape publishers take (`lock?: (repository, fn) => ...`). */
export const pushLock =
  (dir: string, options: LockOptions = {}) =>
  <T>(repository: string, fn: () => Promise<T>): Promise<T> =>
    withRepositoryLock(dir, repository, fn, options);
