import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';

/** A fresh temp directory per test; `cleanup` removes them all. */
export const tempDirs = (): { make: () => Promise<string>; cleanup: () => Promise<void> } => {
  const made: string[] = [];
  return {
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ksail-artifact-'));
      made.push(dir);
      return dir;
    },
    cleanup: async () => {
      await Promise.allSettled(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
};

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

export const configMap = (name: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: value\n`;

export interface TarEntry {
  header: Header;
  content: Buffer;
}

/** Reads a gzipped layer back with tar-stream's extractor. */
export const readLayer = async (layer: Buffer): Promise<TarEntry[]> => {
  const tar = gunzipSync(layer);
  const extractor = extract();
  const entries: TarEntry[] = [];
  const done = (async () => {
    for await (const entry of extractor) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  extractor.end(tar);
  await done;
  return entries;
};

export const names = async (layer: Buffer): Promise<string[]> =>
  (await readLayer(layer)).map((entry) => entry.header.name);
