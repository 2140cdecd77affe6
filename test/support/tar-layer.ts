import { gunzipSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';

export interface TarEntry {
  header: Header;
  content: Buffer;
}

/**
 * Reads a gzipped tar layer back with tar-stream's extractor, independently of the code that wrote it: every
 * entry in archive order, directories included.
 */
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
