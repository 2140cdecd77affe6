import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';
import { isAlive, parsePid } from './process-files.js';

/**
 * Cross-process lock between pushes and garbage collection (FR-018): GC deletes blobs no manifest references, and a
 * push in flight has uploaded blobs that no manifest references *yet*. Pushes share the lock (one file each,
 * `push-<pid>-<uuid>.lock`); GC holds it exclusively (`gc.lock`). Both write their own file first and then look for
 * the other's, so at least one of two racing parties sees the other; a push that sees GC steps back, so GC wins.
 * Files hold the owner's pid: a file whose process is gone is stale and removed.
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

/** Files are written complete and then linked into place, so readers never see a half-written pid. */
const writeAtomically = async (dir: string, file: string, pid: number): Promise<boolean> => {
  const temp = join(dir, `.tmp-${randomUUID()}`);
  await writeFile(temp, `${pid}\n`);
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
  await mkdir(dir, { recursive: true });
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
      await writeFile(file, `${pid}\n`);
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

/** A push lock bound to a directory, in the shape publishers take (`lock?: (fn) => Promise<T>`). */
export const pushLock =
  (dir: string, options: LockOptions = {}) =>
  <T>(fn: () => Promise<T>): Promise<T> =>
    withPushLock(dir, fn, options);
