import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KsailError } from '../../errors.js';

/**
 * The dashboard's files: read once at start-up from the build output into a fixed table, URL path → bytes. A
 * request is answered only when its path is a key of that table, so no path a client sends ever reaches the file
 * system (no traversal, no symlink, no file added later).
 */

/** `<package>/dist/ui`: from src/daemon/ui (tests) and from dist/daemon/ui (the built package) alike. */
export const DEFAULT_UI_ASSETS_DIR = fileURLToPath(new URL('../../../dist/ui', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface UiAsset {
  body: Buffer;
  type: string;
  /** Vite names these by content hash, so a browser may keep them. */
  immutable: boolean;
}

export type UiAssets = ReadonlyMap<string, UiAsset>;

export const loadUiAssets = async (dir: string = DEFAULT_UI_ASSETS_DIR): Promise<UiAssets> => {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    throw new KsailError(
      'unsupported',
      `the dashboard's files are missing in ${dir}; build them with "npm run build" (or turn the dashboard off)`,
      { cause: error, details: { dir } },
    );
  }
  const assets = new Map<string, UiAsset>();
  for (const entry of entries) {
    // Source maps stay out: the page ships what it runs, nothing more.
    if (!entry.isFile() || entry.name.endsWith('.map')) continue;
    const type = TYPES[extname(entry.name)];
    if (type === undefined) continue;
    const file = join(entry.parentPath, entry.name);
    const path = `/${relative(dir, file).split(sep).join('/')}`;
    assets.set(path, { body: await readFile(file), type, immutable: path.startsWith('/assets/') });
  }
  if (!assets.has('/index.html')) {
    throw new KsailError(
      'unsupported',
      `the dashboard's index.html is missing in ${dir}; build it with "npm run build"`,
      { details: { dir } },
    );
  }
  return assets;
};
