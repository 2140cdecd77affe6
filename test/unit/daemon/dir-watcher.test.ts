import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIgnoreMatcher } from '../../../src/artifact/ignore.js';
import { dirWatcherFactory } from '../../../src/daemon/watch/dir-watcher.js';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

const makeDir = async (files: Record<string, string>): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-dirwatch-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
};

/** A directory watched by the directory watcher, with the artifact's ignore rules (and `extra`). */
const watch = async (dir: string, extra: string[] = []) => {
  const matcher = await createIgnoreMatcher(dir, extra);
  const seen: string[] = [];
  const errors: Error[] = [];
  const watcher = await dirWatcherFactory({
    directory: dir,
    usePolling: false,
    ignores: (path, isDirectory) => matcher.ignores(path, isDirectory ?? false),
    onEvent: (kind, path) => seen.push(`${kind} ${path}`),
    onError: (error) => errors.push(error),
  });
  cleanup.unshift(() => watcher.close());
  /** Writes a marker file and waits for it: everything written before it has been reported by then. */
  let markers = 0;
  const settle = async (): Promise<void> => {
    const name = `marker-${markers++}.yaml`;
    await writeFile(join(dir, name), 'm: 1\n');
    await vi.waitFor(() => expect(seen).toContain(`add ${name}`), { timeout: 5000 });
  };
  return { dir, seen, errors, watcher, settle };
};

/** A new directory holding `files`, watched. */
const watchDir = async (files: Record<string, string>, extra: string[] = []) =>
  watch(await makeDir(files), extra);

const without = (seen: string[]): string[] => seen.filter((line) => !line.includes('marker-'));

describe.runIf(process.platform === 'linux')('dirWatcherFactory (directory watches)', () => {
  it('reports nothing from the initial scan, then an edit as changes of that file only', async () => {
    const { dir, seen, settle } = await watchDir({ 'deploy.yaml': 'a: 1\n', 'apps/web.yaml': 'w: 1\n' });
    expect(seen).toEqual([]);
    await writeFile(join(dir, 'apps', 'web.yaml'), 'w: 2\n');
    await vi.waitFor(() => expect(seen).toContain('change apps/web.yaml'), { timeout: 5000 });
    await settle();
    // writeFile truncates, then writes: one or two changes, as the disk went through two states.
    expect(new Set(without(seen))).toEqual(new Set(['change apps/web.yaml']));
  });

  it('reports new files, new directories and the files created in them', async () => {
    const { dir, seen } = await watchDir({ 'deploy.yaml': 'a: 1\n' });
    await writeFile(join(dir, 'service.yaml'), 's: 1\n');
    await vi.waitFor(() => expect(seen).toContain('add service.yaml'), { timeout: 5000 });
    // Created together with its content: the content is reported by the scan of the new directory.
    await mkdir(join(dir, 'new', 'deep'), { recursive: true });
    await writeFile(join(dir, 'new', 'deep', 'one.yaml'), 'o: 1\n');
    await vi.waitFor(() => expect(seen).toContain('add new/deep/one.yaml'), { timeout: 5000 });
    expect(seen).toEqual(expect.arrayContaining(['addDir new', 'addDir new/deep']));
    // A file created later in the new directory: its watch is in place.
    await writeFile(join(dir, 'new', 'deep', 'two.yaml'), 't: 1\n');
    await vi.waitFor(() => expect(seen).toContain('add new/deep/two.yaml'), { timeout: 5000 });
    await writeFile(join(dir, 'new', 'deep', 'one.yaml'), 'o: 2\n');
    await vi.waitFor(() => expect(seen).toContain('change new/deep/one.yaml'), { timeout: 5000 });
  });

  it('reports deleted files and directories', async () => {
    const { dir, seen } = await watchDir({ 'deploy.yaml': 'a: 1\n', 'apps/web.yaml': 'w: 1\n' });
    await rm(join(dir, 'deploy.yaml'));
    await vi.waitFor(() => expect(seen).toContain('unlink deploy.yaml'), { timeout: 5000 });
    await rm(join(dir, 'apps'), { recursive: true });
    await vi.waitFor(() => expect(seen).toContain('unlinkDir apps'), { timeout: 5000 });
    expect(seen).toContain('unlink apps/web.yaml');
  });

  it('reports a rename as unlink and add, and an editor save by rename as one change', async () => {
    const { dir, seen, settle } = await watchDir({ 'deploy.yaml': 'a: 1\n', 'old.yaml': 'o: 1\n' });
    await rename(join(dir, 'old.yaml'), join(dir, 'renamed.yaml'));
    await vi.waitFor(
      () => expect(seen).toEqual(expect.arrayContaining(['unlink old.yaml', 'add renamed.yaml'])),
      { timeout: 5000 },
    );
    seen.length = 0;
    // vim and JetBrains: write a temp file next to the file, then rename it over the file.
    await writeFile(join(dir, 'deploy.yaml___jb_tmp___'), 'a: 2\n');
    await rename(join(dir, 'deploy.yaml___jb_tmp___'), join(dir, 'deploy.yaml'));
    await vi.waitFor(() => expect(seen).toContain('change deploy.yaml'), { timeout: 5000 });
    await settle();
    expect(without(seen)).toEqual(['change deploy.yaml']);
  });

  it('skips ignored paths and editor temp files', async () => {
    const { dir, seen, settle } = await watchDir(
      { 'deploy.yaml': 'a: 1\n', '.sourceignore': 'secret/\n', 'secret/x.yaml': 'b: 1\n' },
      ['*.md', 'drafts/'],
    );
    await writeFile(join(dir, 'notes.md'), '# notes');
    await writeFile(join(dir, 'secret', 'x.yaml'), 'b: 2\n');
    await writeFile(join(dir, 'secret', 'y.yaml'), 'c: 1\n');
    await writeFile(join(dir, 'logo.png'), 'png');
    await mkdir(join(dir, 'drafts'));
    await writeFile(join(dir, 'drafts', 'd.yaml'), 'd: 1\n');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'HEAD'), 'ref: x\n');
    // vim swap, backup and write probe; emacs lock and autosave
    for (const name of ['.deploy.yaml.swp', 'deploy.yaml~', '4913', '.#deploy.yaml', '#deploy.yaml#']) {
      await writeFile(join(dir, name), 'tmp');
      await rm(join(dir, name));
    }
    await settle();
    expect(without(seen)).toEqual([]);
  });

  it('reports nothing after close', async () => {
    const { dir, seen, watcher } = await watchDir({ 'deploy.yaml': 'a: 1\n' });
    await watcher.close();
    await watcher.close();
    await writeFile(join(dir, 'deploy.yaml'), 'a: 2\n');
    await writeFile(join(dir, 'other.yaml'), 'o: 1\n');
    // Nothing to wait for: a second watcher of the same directory sees its marker only after the kernel has
    // delivered the events of the writes above (libuv reads them from one inotify descriptor, in order).
    const probe = await watch(dir);
    await probe.settle();
    expect(seen).toEqual([]);
  });
});
