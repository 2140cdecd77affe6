import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLayer, packTar, sha256Digest } from '../../../src/artifact/index.js';
import { isKsailError } from '../../../src/errors.js';
import { configMap, names, readLayer, tempDirs, writeTree } from './tree.js';

const dirs = tempDirs();
afterEach(dirs.cleanup);

/** Walks the raw 512-byte headers of a tar, without any library. */
const rawHeaders = (tar: Buffer): Buffer[] => {
  const headers: Buffer[] = [];
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    headers.push(header);
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim() || '0', 8);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return headers;
};

describe('layer tarball', () => {
  it('writes "." first, then a pre-order walk with bytewise-sorted names and no trailing slashes', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      'b.yaml': configMap('b'),
      'a/z.yaml': configMap('z'),
      'a/b/c.yaml': configMap('c'),
      'A.yaml': configMap('upper-a'),
      'Z/': '',
      '_x.yaml': configMap('x'),
      'a.b.yaml': configMap('ab'),
    });
    const built = await buildLayer({ sourceDir: dir });
    // localeCompare would put "a" before "A" and "_x" first; Go's filepath.Walk sorts bytes.
    expect(await names(built.layer)).toEqual([
      '.',
      'A.yaml',
      'Z',
      '_x.yaml',
      'a',
      'a/b',
      'a/b/c.yaml',
      'a/z.yaml',
      'a.b.yaml',
      'b.yaml',
    ]);
    expect(built.files).toEqual(['A.yaml', '_x.yaml', 'a/b/c.yaml', 'a/z.yaml', 'a.b.yaml', 'b.yaml']);
    expect(built.fileCount).toBe(6);
  });

  it('sorts non-ASCII names by their UTF-8 bytes', async () => {
    const dir = await dirs.make();
    // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts after U+1F600 (F0 9F 98 80) in UTF-16 but before it in UTF-8.
    await writeTree(dir, { '\u{1F600}.yaml': configMap('emoji'), '\uFF21.yaml': configMap('wide') });
    const built = await buildLayer({ sourceDir: dir });
    expect(await names(built.layer)).toEqual(['.', '\uFF21.yaml', '\u{1F600}.yaml']);
  });

  it('writes sanitised USTAR headers: root owner, no names, mtime 0, 0755 directories, 0644 files', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'apps/app.yaml': configMap('app'), 'top.yaml': configMap('top') });
    const built = await buildLayer({ sourceDir: dir });
    const entries = await readLayer(built.layer);
    for (const { header } of entries) {
      expect(header).toMatchObject({ uid: 0, gid: 0, uname: '', gname: '' });
      expect(header.mtime.getTime()).toBe(0);
      expect(header.mode).toBe(header.type === 'directory' ? 0o755 : 0o644);
    }
    expect(entries.map((entry) => entry.header.type)).toEqual(['directory', 'directory', 'file', 'file']);
    expect(entries[2]?.content.toString()).toBe(configMap('app'));

    const tar = gunzipSync(built.layer);
    expect(built.uncompressedSize).toBe(tar.length);
    const headers = rawHeaders(tar);
    expect(headers).toHaveLength(4);
    for (const header of headers) {
      expect(header.subarray(257, 263).toString('latin1')).toBe('ustar\0');
      expect(header.subarray(263, 265).toString('latin1')).toBe('00');
    }
    expect(headers.map((header) => header.subarray(0, 100).toString('latin1').replace(/\0+$/, ''))).toEqual([
      '.',
      'apps',
      'apps/app.yaml',
      'top.yaml',
    ]);
  });

  it('writes a gzip header with mtime 0 and reports digest and size of the layer', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    const built = await buildLayer({ sourceDir: dir });
    expect([...built.layer.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
    expect(built.layer.readUInt32LE(4)).toBe(0);
    expect(built.layerDigest).toBe(sha256Digest(built.layer));
    expect(built.layerDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(built.layerSize).toBe(built.layer.length);
  });

  it('keeps long paths intact', async () => {
    const dir = await dirs.make();
    const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}.yaml`;
    await writeTree(dir, { [deep]: configMap('deep') });
    const built = await buildLayer({ sourceDir: dir });
    expect((await names(built.layer)).at(-1)).toBe(deep);
  });

  it.each(['/etc/passwd', '../escape.yaml', 'a/../../b', 'a//b', './a'])(
    'refuses the unsafe entry name %s',
    async (name) => {
      const error = await packTar([{ type: 'file', path: name, content: Buffer.from('x') }]).catch(
        (caught: unknown) => caught,
      );
      expect(isKsailError(error, 'unsafe-path')).toBe(true);
    },
  );
});
