import { gunzipSync, inflateRawSync } from 'node:zlib';
import type { Stats } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assembleLayer,
  buildLayer,
  collectSource,
  createLayerCache,
  groupEntries,
  packTar,
} from '../../../src/artifact/index.js';
import { systemClock, type Clock } from '../../../src/clock.js';
import { configMap, readLayer, tempDirs, writeTree } from './tree.js';

const dirs = tempDirs();
afterEach(dirs.cleanup);

/** The clock of a build that runs long after the files were written, so their signatures are trusted. */
const later: Clock = { ...systemClock, now: () => Date.now() + 60_000 };

/**
 * Splits a multi-member gzip stream (RFC 1952) into its members, by inflating each deflate stream: node's
 * inflateRaw reports how much input it used (bytesWritten), and the 8-byte trailer follows.
 */
const gzipMembers = (data: Buffer): Buffer[] => {
  const members: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    expect([...data.subarray(offset, offset + 4)]).toEqual([0x1f, 0x8b, 8, 0]);
    const start = offset + 10;
    const inflated = inflateRawSync(data.subarray(start), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    const end = start + inflated.engine.bytesWritten + 8;
    members.push(inflated.buffer);
    offset = end;
  }
  return members;
};

const tree: Record<string, string> = {
  'kustomization.yaml': 'resources:\n  - apps\n',
  'apps/kustomization.yaml': 'resources:\n  - web.yaml\n',
  'apps/web.yaml': configMap('web'),
  'apps/empty.txt': '',
  'apps/big.txt': 'x'.repeat(100_000),
  [`${'d'.repeat(90)}/${'e'.repeat(90)}.yaml`]: configMap('long'),
  'ünï/çødé.yaml': configMap('unicode'),
  ...Object.fromEntries(
    Array.from({ length: 60 }, (_, i) => [`many/f-${i}.yaml`, configMap(`f-${i}`)] as const),
  ),
};

describe('layer as gzip members', () => {
  it('decompresses to exactly the one tar, with the end-of-archive blocks once, in a member of their own', async () => {
    const dir = await dirs.make();
    await writeTree(dir, tree);
    const source = await collectSource({ sourceDir: dir });
    const { layer, uncompressedSize } = await assembleLayer(source.entries);
    const tar = await packTar(source.entries);
    expect(gunzipSync(layer).equals(tar)).toBe(true);
    expect(uncompressedSize).toBe(tar.length);

    const members = gzipMembers(layer);
    expect(members.length).toBeGreaterThan(5);
    expect(members.at(-1)).toEqual(Buffer.alloc(1024));
    // No earlier member ends the archive: each is whole entries (headers, content, padding) and no zero pair.
    for (const member of members.slice(0, -1)) {
      expect(member.length % 512).toBe(0);
      expect(member.subarray(0, 512).every((byte) => byte === 0)).toBe(false);
    }
    // The large file is a member of its own.
    expect(members.some((member) => member.length === 512 + Math.ceil(100_000 / 512) * 512)).toBe(true);
    expect((await readLayer(layer)).map((entry) => entry.header.name)).toEqual([
      '.',
      ...source.entries.map((entry) => entry.path),
    ]);
  });

  it('gives the same bytes with a cache, however full or bounded, as without', async () => {
    const dir = await dirs.make();
    await writeTree(dir, tree);
    const cold = await buildLayer({ sourceDir: dir });
    for (const maxBytes of [0, 50_000, undefined]) {
      const layerCache = createLayerCache({ clock: later, ...(maxBytes === undefined ? {} : { maxBytes }) });
      for (let round = 0; round < 3; round++) {
        const built = await buildLayer({ sourceDir: dir, layerCache });
        expect(built.layerDigest).toBe(cold.layerDigest);
        expect(built.layer.equals(cold.layer)).toBe(true);
        expect(layerCache.stats.bytes).toBeLessThanOrEqual(maxBytes ?? Infinity);
      }
      if (maxBytes === undefined) expect(layerCache.stats.files).toBe(Object.keys(tree).length);
    }
  });
});

describe('groupEntries', () => {
  const items = Array.from({ length: 400 }, (_, i) => ({ path: `dir-${i % 7}/file-${i}.yaml`, size: 700 }));

  it('covers every entry once, in order, and gives a large entry a group of its own', () => {
    const withLarge = [...items.slice(0, 10), { path: 'big', size: 40_000 }, ...items.slice(10)];
    const groups = groupEntries(withLarge);
    expect(
      groups.flatMap(([start, end]) => Array.from({ length: end - start }, (_, i) => start + i)),
    ).toEqual(withLarge.map((_, i) => i));
    expect(groups).toContainEqual([10, 11]);
    for (const [start, end] of groups) {
      const bytes = withLarge.slice(start, end).reduce((sum, item) => sum + 512 + item.size, 0);
      expect(end - start === 1 || bytes <= 64 * 1024 + 32 * 1024).toBe(true);
    }
  });

  it('moves only the cuts next to an edit, so the other groups (and their members) stay', () => {
    const key = (list: typeof items) =>
      new Set(groupEntries(list).map(([start, end]) => JSON.stringify(list.slice(start, end))));
    const before = key(items);
    const edited = items.map((item, i) => (i === 200 ? { ...item, size: 5_000 } : item));
    const inserted = [...items.slice(0, 100), { path: 'new.yaml', size: 300 }, ...items.slice(100)];
    const removed = items.filter((_, i) => i !== 300);
    for (const after of [edited, inserted, removed].map(key)) {
      const changed = [...after].filter((group) => !before.has(group));
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.length).toBeLessThanOrEqual(3);
    }
  });
});

describe('LayerCache', () => {
  const stats = (ctimeMs: number, size = 5): Stats =>
    ({ dev: 1, ino: 2, mode: 0o100644, size, mtimeMs: ctimeMs, ctimeMs }) as Stats;

  it('takes an unchanged signature for unchanged content only when the file changed well before the build', () => {
    const now = 1_000_000;
    const cache = createLayerCache({ clock: { ...systemClock, now: () => now } });
    const content = Buffer.from('hello');
    // Written 100 ms before the build: a same-size write within one timestamp tick would keep the signature.
    expect(cache.read('racy', stats(now - 100), now, content)).toBe(content);
    expect(cache.read('old', stats(now - 5_000), now, content)).toBe(content);
    expect(cache.unchanged('racy', stats(now - 100))).toBeUndefined();
    expect(cache.unchanged('old', stats(now - 5_000))).toBe(content);
    expect(cache.unchanged('old', stats(now - 5_000, 6))).toBeUndefined();
    expect(cache.unchanged('old', { ...stats(now - 5_000), ino: 3 })).toBeUndefined();
  });

  it('keeps one copy of equal contents, keeps only what the last build used, and frees all on clear', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    const layerCache = createLayerCache({ clock: later });
    const first = await collectSource({ sourceDir: dir, fileCache: layerCache });
    await assembleLayer(first.entries, { cache: layerCache });
    // Unchanged files are not read again: the build gets the very buffer of the previous one.
    const second = await collectSource({ sourceDir: dir, fileCache: layerCache });
    await assembleLayer(second.entries, { cache: layerCache });
    expect(second.files[0]?.content).toBe(first.files[0]?.content);
    // Rewritten with the same bytes: read again (new signature), and the cached buffer is kept.
    await writeFile(join(dir, 'a.yaml'), configMap('a'));
    const third = await collectSource({ sourceDir: dir, fileCache: layerCache });
    expect(third.files[0]?.content).toBe(first.files[0]?.content);
    await assembleLayer(third.entries, { cache: layerCache });
    expect(layerCache.stats.files).toBe(2);

    await rm(join(dir, 'b.yaml'));
    const fourth = await collectSource({ sourceDir: dir, fileCache: layerCache });
    await assembleLayer(fourth.entries, { cache: layerCache });
    expect(layerCache.stats.files).toBe(1);
    layerCache.clear();
    expect(layerCache.stats).toEqual({ files: 0, members: 0, bytes: 0 });
  });
});
