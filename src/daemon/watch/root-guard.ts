import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** What happened to a source's directory itself (not to what is in it). */
export type RootChange = 'appeared' | 'vanished' | 'replaced';

export interface RootGuard {
  /** Whether the directory exists now (after start). */
  readonly present: boolean;
  close(): void;
}

/** Starts guarding `root`; `onChange` runs one at a time, in order. */
export type RootGuardFactory = (
  root: string,
  onChange: (change: RootChange) => Promise<void>,
  onError: (error: Error) => void,
) => Promise<RootGuard>;

const directoryInode = async (path: string): Promise<number | undefined> => {
  try {
    const stats = await stat(path);
    return stats.isDirectory() ? stats.ino : undefined;
  } catch {
    return undefined;
  }
};

/** The closest directory at or above `path` that exists (at worst the filesystem root). */
const nearestExisting = async (path: string): Promise<string> => {
  let current = path;
  while ((await directoryInode(current)) === undefined) {
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
  return current;
};

/**
 * Watches the directory *above* a source (issue 9, §1.3): a source directory that does not exist at start-up, or
 * is deleted and re-created while the daemon runs, is picked up when it appears. One inotify watch on the nearest
 * existing ancestor (the parent while the source exists); every event there re-checks the source directory's
 * inode, so a delete and re-create (a `git checkout`, `rm -rf && mkdir`) is seen as `replaced` even when both
 * happen before we look. The watch on the contents (dir-watcher) cannot see this: its watch dies with the inode.
 */
export const watchRoot: RootGuardFactory = async (root, onChange, onError) => {
  let inode = await directoryInode(root);
  let target: string | undefined;
  let watcher: FSWatcher | undefined;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  const retarget = async (): Promise<void> => {
    const wanted = inode === undefined ? await nearestExisting(dirname(root)) : dirname(root);
    if (closed || wanted === target) return;
    watcher?.close();
    target = wanted;
    try {
      const watched = wanted;
      watcher = watch(wanted, { persistent: false }, (event, name) =>
        // A rename event for the source's own name: it was deleted, created or moved, even when the new
        // directory got the old one's inode number back (file systems reuse a freed inode at once).
        check(event === 'rename' && name === basename(root) && watched === dirname(root)),
      );
      // The watched ancestor itself may go away: look again, one level up.
      watcher.on('error', () => check(false));
    } catch (error) {
      watcher = undefined;
      target = undefined;
      onError(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const evaluate = async (renamed: boolean): Promise<void> => {
    if (closed) return;
    const now = await directoryInode(root);
    const before = inode;
    inode = now;
    await retarget();
    // What changed between the watch being moved and now is seen by this second look.
    const again = await directoryInode(root);
    if (again !== inode) {
      inode = again;
      await retarget();
    }
    if (closed) return;
    if (before === undefined && inode !== undefined) await onChange('appeared');
    else if (before !== undefined && inode === undefined) await onChange('vanished');
    else if (before !== undefined && inode !== undefined && (before !== inode || renamed)) {
      await onChange('replaced');
    }
  };

  const check = (renamed: boolean): void => {
    chain = chain
      .then(() => evaluate(renamed))
      .catch((error: unknown) => {
        onError(error instanceof Error ? error : new Error(String(error)));
      });
  };

  await retarget();
  return {
    get present() {
      return inode !== undefined;
    },
    close: () => {
      closed = true;
      watcher?.close();
      watcher = undefined;
    },
  };
};
