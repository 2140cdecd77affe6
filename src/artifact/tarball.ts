import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { pack as createPack, type Header } from 'tar-stream';
import { KsailError } from '../errors.js';
import type { SourceEntry } from './collect.js';

const gzipAsync = promisify(gzip);

/** Flux's sanitizeHeader: no owner, no time; setDefaultMode: 0755 directories, 0644 files. */
const EPOCH = new Date(0);
const DIRECTORY_MODE = 0o755;
const FILE_MODE = 0o644;

const header = (name: string, type: 'directory' | 'file'): Partial<Header> & Pick<Header, 'name'> => ({
  name,
  type,
  mode: type === 'directory' ? DIRECTORY_MODE : FILE_MODE,
  uid: 0,
  gid: 0,
  uname: '',
  gname: '',
  mtime: EPOCH,
});

/** Entry names are built from directory listings, so this never fires; it guards against a future bug. */
export const assertSafeEntryName = (name: string): void => {
  const segments = name.split('/');
  if (
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\0') ||
    name.includes('\\') ||
    segments.some((segment) => segment === '..' || segment === '' || segment === '.')
  ) {
    throw new KsailError(
      'unsafe-path',
      `refusing to pack tar entry "${name}": entry names must be relative and stay inside the source; this is a bug in ksail-fluxd, please report it`,
      { details: { name } },
    );
  }
};

/**
 * The uncompressed layer, as `flux push artifact` writes it: a `.` directory entry first, then the entries in
 * walk order; directory names without a trailing slash; USTAR headers (PAX only for names USTAR cannot hold).
 */
export const packTar = async (entries: readonly SourceEntry[]): Promise<Buffer> => {
  const pack = createPack();
  const chunks: Buffer[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    // tar-stream pushes node Buffers (b4a); streamx types them as unknown.
    pack.on('data', (chunk: unknown) => {
      chunks.push(chunk as Buffer);
    });
    pack.once('end', resolve);
    pack.once('error', reject);
  });
  try {
    pack.entry(header('.', 'directory'));
    for (const entry of entries) {
      assertSafeEntryName(entry.path);
      if (entry.type === 'directory') pack.entry(header(entry.path, 'directory'));
      else pack.entry(header(entry.path, 'file'), entry.content);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy();
    throw error;
  }
  await finished;
  return Buffer.concat(chunks);
};

/**
 * Default level; node's gzip header has mtime 0, so the same tar always gives the same bytes. One output chunk as
 * large as the input makes it a single thread-pool job that runs to the end even while the main thread is busy
 * (validating); with the default 16 KiB chunks every chunk would wait for the main thread.
 */
export const gzipLayer = async (tar: Buffer): Promise<Buffer> => {
  const compressed = await gzipAsync(tar, { chunkSize: Math.max(64 * 1024, tar.length + 1024) });
  // The result is a slice of that big output chunk; copy it so the layer does not keep the whole chunk alive.
  return compressed.buffer.byteLength > compressed.length * 2 ? Buffer.from(compressed) : compressed;
};
