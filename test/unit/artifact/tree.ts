import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ValidationInput } from '../../../src/artifact/index.js';
import { readLayer } from '../../support/tar-layer.js';
import { tempDirs as tempDirsNamed, type TempDirs } from '../../support/temp-dirs.js';

// Re-exported because the artifact and registry unit tests import their helpers from here.
export { readLayer };

/** A fresh temp directory per test; `cleanup` removes them all. */
export const tempDirs = (): TempDirs => tempDirsNamed('ksail-artifact-');

/** Writes `{ 'a/b.yaml': 'content' }`; a key ending in `/` makes an (empty) directory. */
export const writeTree = async (root: string, files: Record<string, string>): Promise<void> => {
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) {
      await mkdir(join(root, path), { recursive: true });
      continue;
    }
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
};

/** A ConfigMap in `namespace` (none with `null`: Flux then fails unless something else sets one). */
export const configMap = (name: string, namespace: string | null = 'default'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace === null ? '' : `  namespace: ${namespace}\n`}data:\n  key: value\n`;

export const names = async (layer: Buffer): Promise<string[]> =>
  (await readLayer(layer)).map((entry) => entry.header.name);

/** A validation input held in memory, `{ 'a/b.yaml': 'content' }`, with the directories the paths imply. */
export const memoryInput = (
  files: Record<string, string>,
  options: Partial<ValidationInput> = {},
): ValidationInput => ({
  sourceDir: '/src',
  files: Object.entries(files).map(([path, text]) => ({ path, content: Buffer.from(text) })),
  directories: new Set(
    Object.keys(files).flatMap((path) =>
      path
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  ),
  ...options,
});
