import { pack as createPack, type Header } from 'tar-stream';
import { KsailError } from '../errors.js';
import type { SourceEntry } from './collect.js';

/** Flux's sanitizeHeader: no owner, no time; setDefaultMode: 0755 directories, 0644 files. */
const EPOCH = new Date(0);
const DIRECTORY_MODE = 0o755;
const FILE_MODE = 0o644;

/** The mode a tar entry of this type gets, whatever the mode on disk. */
export const entryMode = (type: 'directory' | 'file'): number =>
  type === 'directory' ? DIRECTORY_MODE : FILE_MODE;

const header = (name: string, type: 'directory' | 'file'): Partial<Header> & Pick<Header, 'name'> => ({
  name,
  type,
  mode: entryMode(type),
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

/** The root directory entry, `.`, which every layer starts with (it has no source path to check). */
export const ROOT_ENTRY = { type: 'directory', path: '.' } as const;
export type LayerEntry = SourceEntry | typeof ROOT_ENTRY;

/** The end of an archive: two zero blocks. Readers (Go's archive/tar, GNU tar) stop at the first pair. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);

/**
 * The tar bytes of `entries` without the end-of-archive blocks: each entry's header (PAX only for names USTAR
 * cannot hold), content and padding, as `flux push artifact` writes them (directory names without a trailing
 * slash). A tar entry depends on nothing but itself, so any split of a layer into runs of entries concatenates
 * back to the same tar.
 */
export const packEntries = async (entries: readonly LayerEntry[]): Promise<Buffer> => {
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
    for (const entry of entries) {
      if (entry !== ROOT_ENTRY) assertSafeEntryName(entry.path);
      if (entry.type === 'directory') pack.entry(header(entry.path, 'directory'));
      else pack.entry(header(entry.path, 'file'), entry.content);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy();
    throw error;
  }
  await finished;
  const tar = Buffer.concat(chunks);
  // finalize() appends the end-of-archive blocks; the layer writes them once, at its very end.
  return tar.subarray(0, tar.length - END_OF_ARCHIVE.length);
};

/** The whole uncompressed layer: `.` first, the entries in walk order, then the end-of-archive blocks. */
export const packTar = async (entries: readonly SourceEntry[]): Promise<Buffer> =>
  Buffer.concat([await packEntries([ROOT_ENTRY, ...entries]), END_OF_ARCHIVE]);
