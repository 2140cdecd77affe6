import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLayer } from '../../../src/artifact/index.js';
import { escapeName } from '../../../src/artifact/collect.js';
import { rejectionOf } from '../../support/rejection.js';
import { configMap, names, tempDirs, writeTree } from './tree.js';

/** Issue #13: every file name either packs as it is or fails naming the file; never a false reason. */
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** A file whose name is `bytes` (not UTF-8: Latin-1 "café" is 63 61 66 e9). */
const writeRawName = async (dir: string, bytes: number[], content: string): Promise<void> => {
  await writeFile(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(bytes)]), content);
};

describe('file names', () => {
  it('refuses a name that is not UTF-8, naming the file (escaped) and the fix', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    await writeRawName(dir, [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x79, 0x61, 0x6d, 0x6c], configMap('cafe'));
    const error = await rejectionOf(buildLayer({ sourceDir: dir }));
    expect(error).toMatchObject({ code: 'file-name-invalid' });
    const { message } = error as Error;
    expect(message).toContain(`${join(dir, 'caf\\xe9.yaml')}`);
    expect(message).toMatch(/not valid UTF-8.*rename it.*ignore patterns/);
    expect(message).not.toMatch(/disappeared/);
  });

  it('leaves a name that is not UTF-8 out without a word when the ignore rules exclude it', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    await writeRawName(dir, [0x62, 0xff, 0x2e, 0x62, 0x69, 0x6e], 'binary');
    const built = await buildLayer({ sourceDir: dir, ignore: ['*.bin'] });
    expect(built.files).toEqual(['app.yaml']);
    expect(built.warnings).toEqual([]);
  });

  it('packs newlines, non-ASCII UTF-8 and names over 100 bytes as they are', async () => {
    const dir = await dirs.make();
    const long = `${'d'.repeat(60)}/${'f'.repeat(120)}.txt`;
    await writeTree(dir, {
      'app.yaml': configMap('app'),
      'new\nline.txt': 'x',
      'café/ünïcødé.txt': 'y',
      [long]: 'z',
    });
    const built = await buildLayer({ sourceDir: dir });
    expect(built.warnings).toEqual([]);
    expect(await names(built.layer)).toEqual([
      '.',
      'app.yaml',
      'café',
      'café/ünïcødé.txt',
      'd'.repeat(60),
      long,
      'new\nline.txt',
    ]);
  });

  it('escapes names for messages: valid UTF-8 kept, other bytes and control characters shown', () => {
    expect(escapeName(Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0x0a, 0xe9]))).toBe('a\\xffé\\n\\xe9');
  });
});
