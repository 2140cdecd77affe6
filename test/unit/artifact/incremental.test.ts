import { chmod, mkdir, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLayer, createLayerCache, createValidationCache } from '../../../src/artifact/index.js';
import { systemClock, type Clock } from '../../../src/clock.js';
import { readLayer, tempDirs } from './tree.js';

const dirs = tempDirs();
afterEach(dirs.cleanup);

/** mulberry32: a small seeded PRNG, so a failing sequence replays from its seed. */
const prng = (seed: number) => {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const DIR_NAMES = ['a', 'b', 'ünï', 'x'.repeat(70), 'nested'];
const FILE_NAMES = ['f.txt', 'g.txt', 'Z.txt', 'é.txt', `${'l'.repeat(80)}.txt`, '_u.txt', 'data.json'];

interface Variant {
  name: string;
  clock: Clock;
  /**
   * Whether a write may give a file a size it had before. With `later`, signatures are trusted at once, which is
   * only sound when every change shows in the signature: writes within one timestamp tick keep mtime and ctime,
   * and a new file may reuse a deleted one's inode. The real clock's racy margin covers exactly that.
   */
  sizesRepeat: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'the real clock (recent files are read again)', clock: systemClock, sizesRepeat: true },
  {
    name: 'a clock a minute ahead (every unchanged signature is trusted)',
    clock: { ...systemClock, now: () => Date.now() + 60_000 },
    sizesRepeat: false,
  },
];

/** A random edit session on a real tree, mirrored in `files` (path → content) and `directories`. */
const session = (root: string, random: () => number, variant: Variant) => {
  const files = new Map<string, string>();
  const directories = new Set<string>();
  const sizes = new Map<string, Set<number>>();
  let serial = 0;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const randomDir = (): string => {
    const depth = Math.floor(random() * 4);
    return Array.from({ length: depth }, () => pick(DIR_NAMES)).join('/');
  };
  const size = (path: string): number => {
    const roll = random();
    let length =
      roll < 0.1
        ? 0
        : roll < 0.7
          ? Math.floor(random() * 3000)
          : roll < 0.9
            ? 5000 + Math.floor(random() * 20_000)
            : 33_000 + Math.floor(random() * 50_000);
    const used = sizes.get(path) ?? new Set<number>();
    while (!variant.sizesRepeat && used.has(length)) length++;
    used.add(length);
    sizes.set(path, used);
    return length;
  };
  const text = (path: string): string => {
    const length = size(path);
    const token = `${path}:${serial++}:`;
    return token.repeat(Math.ceil(length / token.length) + 1).slice(0, length);
  };
  const addParents = async (path: string): Promise<void> => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    const parts = path.split('/').slice(0, -1);
    parts.forEach((_, i) => directories.add(parts.slice(0, i + 1).join('/')));
  };
  const write = async (path: string, content: string): Promise<void> => {
    await addParents(path);
    await writeFile(join(root, path), content);
    files.set(path, content);
  };
  const freshPath = (): string => {
    for (;;) {
      const dir = randomDir();
      const path = dir === '' ? pick(FILE_NAMES) : `${dir}/${pick(FILE_NAMES)}`;
      const taken = [...files.keys(), ...directories].some(
        (other) =>
          other === path ||
          other.startsWith(`${path}/`) ||
          (path.startsWith(`${other}/`) && files.has(other)),
      );
      if (!taken) return path;
    }
  };
  const removeTree = (prefix: string): void => {
    for (const path of [...files.keys()]) if (path.startsWith(`${prefix}/`)) files.delete(path);
    for (const dir of [...directories])
      if (dir === prefix || dir.startsWith(`${prefix}/`)) directories.delete(dir);
  };
  const existing = (): string[] => [...files.keys()].filter((path) => path !== 'keep.txt');

  const edits: Record<string, () => Promise<void>> = {
    add: async () => {
      const path = freshPath();
      await write(path, text(path));
    },
    rewrite: async () => {
      const path = pick([...files.keys()]);
      await write(path, text(path));
    },
    sameSize: async () => {
      if (!variant.sizesRepeat) return;
      const path = pick([...files.keys()]);
      const old = files.get(path)!;
      await write(
        path,
        old.length === 0 ? old : `${old.slice(1)}${String.fromCharCode(97 + (serial++ % 26))}`,
      );
    },
    append: async () => {
      const path = pick([...files.keys()]);
      let extra = `+${serial++}`;
      while (!variant.sizesRepeat && sizes.get(path)?.has(files.get(path)!.length + extra.length))
        extra += '.';
      sizes.get(path)?.add(files.get(path)!.length + extra.length);
      await write(path, files.get(path)! + extra);
    },
    atomicSave: async () => {
      // What editors do: write a temp file elsewhere, rename it over the file (a new inode).
      const path = pick([...files.keys()]);
      const content = text(path);
      const temp = join(dirname(root), `save-${serial++}`);
      await writeFile(temp, content);
      await rename(temp, join(root, path));
      files.set(path, content);
    },
    remove: async () => {
      const path = pick(existing());
      if (path === undefined) return;
      await rm(join(root, path));
      files.delete(path);
    },
    renameFile: async () => {
      const path = pick(existing());
      if (path === undefined) return;
      const target = freshPath();
      const length = files.get(path)!.length;
      // A file moved back to where it was could show its old signature (same inode and size, within one tick).
      if (!variant.sizesRepeat && sizes.get(target)?.has(length)) return;
      sizes.set(target, (sizes.get(target) ?? new Set()).add(length));
      await addParents(target);
      await rename(join(root, path), join(root, target));
      files.set(target, files.get(path)!);
      files.delete(path);
    },
    chmod: async () => {
      const path = pick([...files.keys()]);
      await chmod(join(root, path), pick([0o600, 0o644, 0o755, 0o640]));
    },
    touch: async () => {
      const path = pick([...files.keys()]);
      const when = new Date(Date.now() - Math.floor(random() * 1e9));
      await utimes(join(root, path), when, when);
    },
    mkdir: async () => {
      const dir = randomDir() || pick(DIR_NAMES);
      if (files.has(dir) || [...files.keys()].some((path) => dir.startsWith(`${path}/`))) return;
      await mkdir(join(root, dir), { recursive: true });
      const parts = dir.split('/');
      parts.forEach((_, i) => directories.add(parts.slice(0, i + 1).join('/')));
    },
    removeDir: async () => {
      const dir = pick([...directories]);
      if (dir === undefined) return;
      await rm(join(root, dir), { recursive: true });
      removeTree(dir);
    },
    renameDir: async () => {
      const dir = pick([...directories]);
      if (dir === undefined) return;
      const target = `moved-${serial++}`;
      await rename(join(root, dir), join(root, target));
      for (const [path, content] of [...files]) {
        if (path.startsWith(`${dir}/`)) files.set(`${target}${path.slice(dir.length)}`, content);
      }
      for (const other of [...directories]) {
        if (other === dir || other.startsWith(`${dir}/`))
          directories.add(`${target}${other.slice(dir.length)}`);
      }
      removeTree(dir);
    },
  };
  return { files, directories, edits, write, pick };
};

const listDirectories = async (root: string): Promise<string[]> =>
  (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1));

describe.each(VARIANTS)('incremental builds with $name', (variant) => {
  it.each([1, 2, 3])(
    'equal a cold build byte for byte at every step of random edit session %i',
    async (seed) => {
      const root = join(await dirs.make(), 'source');
      await mkdir(root);
      const random = prng(seed);
      const edit = session(root, random, variant);
      await edit.write('keep.txt', 'never removed, so the source is never empty\n');
      for (let i = 0; i < 12; i++) await edit.edits.add!();
      const layerCache = createLayerCache({ clock: variant.clock });
      const validationCache = createValidationCache();
      const names = Object.keys(edit.edits);
      for (let step = 0; step < 30; step++) {
        const done: string[] = [];
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
          const name = edit.pick(names);
          done.push(name);
          await edit.edits[name]!();
        }
        const incremental = await buildLayer({ sourceDir: root, layerCache, validationCache });
        const cold = await buildLayer({ sourceDir: root });
        const where = `seed ${seed}, step ${step} (${done.join(', ')})`;
        expect(incremental.layerDigest, where).toBe(cold.layerDigest);
        expect(incremental.layer.equals(cold.layer), where).toBe(true);

        const entries = await readLayer(incremental.layer);
        const read = Object.fromEntries(
          entries
            .filter((entry) => entry.header.type === 'file')
            .map((entry) => [entry.header.name, entry.content.toString()]),
        );
        expect(read, where).toEqual(Object.fromEntries(edit.files));
        const tarDirectories = entries
          .filter((entry) => entry.header.type === 'directory')
          .map((entry) => entry.header.name);
        expect(tarDirectories.slice(1).sort(), where).toEqual((await listDirectories(root)).sort());
        expect(layerCache.stats.files, where).toBe(edit.files.size);
      }
    },
  );
});
