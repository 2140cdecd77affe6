import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { mapLimited } from '../concurrency.js';
import { KsailError } from '../errors.js';
import type { SourceEntry } from './collect.js';
import type { LayerCache, Member } from './layer-cache.js';
import { groupEntries, type GroupingOptions } from './layer-groups.js';
import { END_OF_ARCHIVE, entryMode, packEntries, ROOT_ENTRY, type LayerEntry } from './tarball.js';

const gzipAsync = promisify(gzip);

export interface LayerBytes {
  /** The gzipped tarball: a concatenation of gzip members, the last one holding the end-of-archive blocks. */
  layer: Buffer;
  /** The length of the tar it decompresses to. */
  uncompressedSize: number;
}

export interface AssembleOptions {
  /** The source's incremental-build cache: unchanged groups reuse their compressed member. */
  cache?: LayerCache;
  /** How entries are grouped into members; the default suits manifests (see layer-groups.ts). */
  grouping?: GroupingOptions;
  /** Groups compressed at once on the thread pool (a cold build of a large source has hundreds). */
  concurrency?: number;
}

/**
 * Default level; node's gzip header has mtime 0 and no name, so the same tar always gives the same member. One
 * output chunk as large as the input makes it a single thread-pool job that runs to the end even while the main
 * thread is busy (validating); with the default 16 KiB chunks every chunk would wait for the main thread.
 */
const compress = async (tar: Buffer): Promise<Buffer> => {
  const member = await gzipAsync(tar, { chunkSize: Math.max(64 * 1024, tar.length + 1024) });
  // The result is a slice of that big output chunk; copy it so a cached member does not keep the whole chunk.
  return member.buffer.byteLength > member.length * 2 ? Buffer.from(member) : member;
};

let endMember: Buffer | undefined;
/** The end-of-archive blocks as their own member, once at the very end: Go's archive/tar stops at them. */
const endOfArchiveMember = (): Buffer => (endMember ??= gzipSync(END_OF_ARCHIVE));

const contentSize = (entry: LayerEntry): number => (entry.type === 'file' ? entry.content.length : 0);

/**
 * What a member's bytes depend on: each entry's type, mode, name and content digest. NUL cannot occur in an entry
 * name (assertSafeEntryName), so it separates the fields unambiguously.
 */
const entryKey = (entry: LayerEntry, cache: LayerCache): string =>
  entry.type === 'file'
    ? `f\0${entryMode('file')}\0${entry.path}\0${cache.digest(entry.path, entry.content)}`
    : `d\0${entryMode('directory')}\0${entry.path}`;

/**
 * The layer of `flux push artifact` as a multi-member gzip stream (RFC 1952 §2.2): `.` and the entries in walk
 * order, grouped into members (layer-groups.ts), then one member with the end-of-archive blocks. Every gzip reader
 * (Go's compress/gzip, which Flux uses, zlib, GNU gzip, Python) decompresses the members as one stream, and the
 * tar inside is the one `packTar` writes. The bytes depend on the entries only, so with or without a cache, and
 * whatever the cache held, the same tree gives the same layer and digest.
 */
export const assembleLayer = async (
  entries: readonly SourceEntry[],
  options: AssembleOptions = {},
): Promise<LayerBytes> => {
  const { cache } = options;
  const items: LayerEntry[] = [ROOT_ENTRY, ...entries];
  const groups = groupEntries(
    items.map((entry) => ({ path: entry.path, size: contentSize(entry) })),
    options.grouping,
  );
  // Cached members first, synchronously; only the missing ones go to the thread pool.
  const plan = groups.map(([start, end]): { group: LayerEntry[]; key?: string; member?: Member } => {
    const group = items.slice(start, end);
    const key = cache ? group.map((entry) => entryKey(entry, cache)).join('\0\0') : undefined;
    return { group, key, member: key === undefined ? undefined : cache?.member(key) };
  });
  await mapLimited(
    plan.filter((part) => part.member === undefined),
    options.concurrency ?? 4,
    async (part) => {
      const tar = await packEntries(part.group);
      part.member = { gzip: await compress(tar), tarSize: tar.length };
      if (part.key !== undefined) cache?.storeMember(part.key, part.member);
    },
  );
  const members = plan.map(({ member }) => {
    if (member === undefined) throw new KsailError('internal', 'a layer group was left uncompressed');
    return member;
  });
  cache?.commit();
  return {
    layer: Buffer.concat([...members.map((member) => member.gzip), endOfArchiveMember()]),
    uncompressedSize: members.reduce((sum, member) => sum + member.tarSize, END_OF_ARCHIVE.length),
  };
};
