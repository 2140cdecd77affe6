import { chmod, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLayer } from '../../../src/artifact/index.js';
import { configMap, tempDirs, writeTree } from './tree.js';

const dirs = tempDirs();
afterEach(dirs.cleanup);

const FILES: Record<string, string> = {
  'kustomization.yaml': 'resources:\n  - apps\n  - infra.yaml\n',
  'infra.yaml': configMap('infra'),
  'apps/kustomization.yaml': 'resources:\n  - web.yaml\n  - api.yaml\n',
  'apps/web.yaml': configMap('web'),
  'apps/api.yaml': configMap('api'),
  'apps/nested/deep.yaml': configMap('deep'),
};

describe('layer determinism', () => {
  it('gives the same digest whatever the mtimes, permissions and creation order', async () => {
    const first = await dirs.make();
    const second = await dirs.make();
    await writeTree(first, FILES);
    await writeTree(second, Object.fromEntries(Object.entries(FILES).reverse()));
    const old = new Date('2001-02-03T04:05:06Z');
    for (const path of Object.keys(FILES)) {
      await utimes(join(first, path), old, old);
      await chmod(join(second, path), 0o600);
    }
    await chmod(join(second, 'apps', 'web.yaml'), 0o755);
    await chmod(join(second, 'apps', 'nested'), 0o700);
    await utimes(join(second, 'apps'), old, old);

    const [a, b] = await Promise.all([buildLayer({ sourceDir: first }), buildLayer({ sourceDir: second })]);
    expect(a.layerDigest).toBe(b.layerDigest);
    expect(a.layer.equals(b.layer)).toBe(true);
    expect((await buildLayer({ sourceDir: first })).layerDigest).toBe(a.layerDigest);
  });

  it('gives a different digest after a one-byte change', async () => {
    const dir = await dirs.make();
    await writeTree(dir, FILES);
    const before = await buildLayer({ sourceDir: dir });
    await writeFile(join(dir, 'apps', 'web.yaml'), configMap('wec'));
    const after = await buildLayer({ sourceDir: dir });
    expect(after.layerDigest).not.toBe(before.layerDigest);
  });
});
