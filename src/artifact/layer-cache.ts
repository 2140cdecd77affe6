import type { Stats } from 'node:fs';
import type { Clock } from '../clock.js';
import { sha256Digest } from './digest.js';

/** What `lstat` says about a file: when all of it is unchanged (and not racy), so is its content. */
interface Signature {
  dev: number;
  ino: number;
  mode: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface FileRecord {
  signature: Signature;
  /** Whether the signature may stand for the content (see `racyMarginMs`). */
  trusted: boolean;
  content: Buffer;
  digest: string;
}

/** One group's gzip member, and the length of the tar it holds. */
export interface Member {
  gzip: Buffer;
  tarSize: number;
}

/**
 * The read side of the cache, as the collector uses it: the content of a file whose `lstat` signature is
 * unchanged, without reading it, and the content read otherwise.
 */
export interface FileCache {
  /** The time the files of this build are compared against; call once, before the first lstat. */
  now(): number;
  /** The cached content when the signature is unchanged and was trusted, else undefined (read the file). */
  unchanged(path: string, stats: Stats): Buffer | undefined;
  /**
   * Records what was read (stats taken before the read); returns the content to use: the cached buffer when the
   * bytes are equal, so that this cache and the validation cache hold one copy.
   */
  read(path: string, stats: Stats, statedAt: number, content: Buffer): Buffer;
}

export interface LayerCacheOptions {
  clock: Clock;
  /** Contents and compressed members kept, in bytes; past it, entries are rebuilt on each build. Default 256 MiB. */
  maxBytes?: number;
  /**
   * A signature stands for the content only when the file was last changed this long before the build began.
   * Timestamps are coarse (a kernel tick; 1–2 s on some file systems), so two writes of the same size within one
   * tick leave the signature unchanged: git's "racily clean" entries. Such files are read (and hashed) again.
   */
  racyMarginMs?: number;
}

const signatureOf = (stats: Stats): Signature => ({
  dev: stats.dev,
  ino: stats.ino,
  mode: stats.mode,
  size: stats.size,
  mtimeMs: stats.mtimeMs,
  ctimeMs: stats.ctimeMs,
});

const sameSignature = (a: Signature, stats: Stats): boolean =>
  a.dev === stats.dev &&
  a.ino === stats.ino &&
  a.mode === stats.mode &&
  a.size === stats.size &&
  a.mtimeMs === stats.mtimeMs &&
  a.ctimeMs === stats.ctimeMs;

/**
 * One source's incremental-build cache (issue #10): file contents by path and `lstat` signature, so unchanged
 * files are neither read nor hashed again, and compressed gzip members by the names, modes and content digests of
 * their entries, so unchanged groups are not compressed again. Only what the latest build used is kept, within
 * `maxBytes`; `clear()` frees it all. What it returns never depends on what it holds: a member is a pure function
 * of its key, and a miss rebuilds the same bytes, so the layer of an incremental build equals the cold one.
 * Overlapping builds of one source only lower the hit rate.
 */
export class LayerCache implements FileCache {
  private readonly clock: Clock;
  private readonly maxBytes: number;
  private readonly racyMarginMs: number;
  private files = new Map<string, FileRecord>();
  private members = new Map<string, Member>();
  private nextFiles = new Map<string, FileRecord>();
  private nextMembers = new Map<string, Member>();
  private bytes = 0;
  private nextBytes = 0;

  constructor(options: LayerCacheOptions) {
    this.clock = options.clock;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.racyMarginMs = options.racyMarginMs ?? 2000;
  }

  now(): number {
    return this.clock.now();
  }

  unchanged(path: string, stats: Stats): Buffer | undefined {
    const record = this.nextFiles.get(path) ?? this.files.get(path);
    if (record === undefined || !record.trusted || !sameSignature(record.signature, stats)) return undefined;
    this.keepFile(path, record);
    return record.content;
  }

  read(path: string, stats: Stats, statedAt: number, content: Buffer): Buffer {
    const previous = this.nextFiles.get(path) ?? this.files.get(path);
    const same = previous !== undefined && previous.content.equals(content);
    const trusted = Math.max(stats.mtimeMs, stats.ctimeMs) <= statedAt - this.racyMarginMs;
    const record: FileRecord = {
      signature: signatureOf(stats),
      trusted,
      content: same ? previous.content : content,
      digest: same ? previous.digest : sha256Digest(content),
    };
    this.keepFile(path, record);
    return record.content;
  }

  /** The sha256 of a file's content: remembered for contents that came through this cache. */
  digest(path: string, content: Buffer): string {
    const record = this.nextFiles.get(path);
    return record !== undefined && record.content === content ? record.digest : sha256Digest(content);
  }

  member(key: string): Member | undefined {
    const member = this.nextMembers.get(key) ?? this.members.get(key);
    if (member !== undefined) this.keepMember(key, member);
    return member;
  }

  storeMember(key: string, member: Member): void {
    this.keepMember(key, member);
  }

  /** Ends a build: what it did not use is dropped. */
  commit(): void {
    this.files = this.nextFiles;
    this.members = this.nextMembers;
    this.bytes = this.nextBytes;
    this.nextFiles = new Map();
    this.nextMembers = new Map();
    this.nextBytes = 0;
  }

  /** Frees everything (the source was removed). */
  clear(): void {
    this.files = new Map();
    this.members = new Map();
    this.nextFiles = new Map();
    this.nextMembers = new Map();
    this.bytes = 0;
    this.nextBytes = 0;
  }

  /** What the cache holds after the last build: files, members and their bytes. */
  get stats(): { files: number; members: number; bytes: number } {
    return { files: this.files.size, members: this.members.size, bytes: this.bytes };
  }

  private keepFile(path: string, record: FileRecord): void {
    const before = this.nextFiles.get(path);
    if (before === record) return;
    const size = record.content.length - (before?.content.length ?? 0);
    if (before === undefined && this.nextBytes + size > this.maxBytes) return;
    this.nextFiles.set(path, record);
    this.nextBytes += size;
  }

  private keepMember(key: string, member: Member): void {
    if (this.nextMembers.has(key) || this.nextBytes + member.gzip.length > this.maxBytes) return;
    this.nextMembers.set(key, member);
    this.nextBytes += member.gzip.length;
  }
}

export const createLayerCache = (options: LayerCacheOptions): LayerCache => new LayerCache(options);
