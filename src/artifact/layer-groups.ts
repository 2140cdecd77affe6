/** What grouping looks at: an entry's tar name and the size of its content (0 for a directory). */
export interface GroupItem {
  path: string;
  size: number;
}

export interface GroupingOptions {
  /** A run of small entries ends after an entry whose name hashes to 0 modulo this (a power of two). */
  cutEvery: number;
  /** A run also ends once its headers and contents reach this many bytes. */
  maxGroupBytes: number;
  /** An entry with at least this much content is a group of its own. */
  aloneBytes: number;
}

/**
 * Eight entries a group on average and at most 64 KiB: small manifests compress nearly as well as in one stream
 * (gzip's window is 32 KiB), and an edit re-compresses one group, a few milliseconds.
 */
export const DEFAULT_GROUPING: GroupingOptions = {
  cutEvery: 8,
  maxGroupBytes: 64 * 1024,
  aloneBytes: 32 * 1024,
};

const TAR_BLOCK = 512;

/** FNV-1a (32 bits) of the name's UTF-16 code units: cheap, and the same on every run and machine. */
const nameHash = (name: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
};

/**
 * Splits a layer's entries (in tar order) into runs, each compressed as one gzip member. The split is a function
 * of the entries' names and sizes alone, never of earlier builds, so an incremental build and a cold build of the
 * same tree cut at the same places and give the same bytes. Cuts are anchored on names (content-defined chunking
 * over the name sequence), so adding, removing or editing a file moves only the cuts next to it, and the other
 * groups' compressed members are reused as they are.
 */
export const groupEntries = (
  items: readonly GroupItem[],
  options: GroupingOptions = DEFAULT_GROUPING,
): [start: number, end: number][] => {
  const groups: [number, number][] = [];
  const mask = options.cutEvery - 1;
  let start = 0;
  let bytes = 0;
  items.forEach((item, index) => {
    if (item.size >= options.aloneBytes) {
      if (index > start) groups.push([start, index]);
      groups.push([index, index + 1]);
      start = index + 1;
      bytes = 0;
      return;
    }
    bytes += TAR_BLOCK + item.size;
    if ((nameHash(item.path) & mask) === 0 || bytes >= options.maxGroupBytes) {
      groups.push([start, index + 1]);
      start = index + 1;
      bytes = 0;
    }
  });
  if (items.length > start) groups.push([start, items.length]);
  return groups;
};
