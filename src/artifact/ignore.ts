import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { createLimiter } from '../concurrency.js';
import { KsailError } from '../errors.js';

/** Flux's `flux push artifact --ignore-paths` default: sourceignore.ExcludeVCS plus sourceignore.ExcludeExt. */
export const FLUX_DEFAULT_IGNORES: readonly string[] = [
  '.git/',
  '.gitignore',
  '.gitmodules',
  '.gitattributes',
  '*.jpg',
  '*.jpeg',
  '*.gif',
  '*.png',
  '*.wmv',
  '*.flv',
  '*.tar.gz',
  '*.zip',
];

/**
 * Files editors write next to the file being saved. Packaging them would push a half-written or stale copy of a
 * manifest, and they change on every keystroke. Deliberately narrow: nothing here can match a `.yaml` manifest.
 */
export const EDITOR_TEMP_IGNORES: readonly string[] = [
  // vim swap files (`.foo.yaml.swp`, `.swo`, ... `.swa`) and the `.swx` it probes with
  '*.sw[a-p]',
  '*.swx',
  // vim (and many others) backup files
  '*~',
  // vim writes and deletes `4913` to check that the directory is writable
  '4913',
  // emacs lock files and autosave files (`#` starts a comment in gitignore, hence the escape)
  '.#*',
  '\\#*#',
  // JetBrains "safe write"
  '*___jb_tmp___',
  '*___jb_old___',
];

/** Name of the per-directory ignore file Flux's source-controller honours. */
export const SOURCE_IGNORE_FILE = '.sourceignore';

/**
 * Where a pattern came from, for "what excluded everything" messages: `Flux default`, `editor temp file`,
 * `sources[].ignore`, or the path of a `.sourceignore`.
 */
export type IgnoreOrigin = string;

export interface IgnoreVerdict {
  ignored: boolean;
  /** The pattern that decided, and where it came from, when `ignored`. */
  pattern?: string;
  origin?: IgnoreOrigin;
}

/**
 * Decides which paths of a source go into the artifact. Layers, later ones winning (as in source-controller):
 * Flux defaults and editor temp files, then each `.sourceignore` from the root down (patterns relative to its
 * directory), then the source's own `ignore` patterns. A path under an ignored directory is ignored too, as in git.
 *
 * It does not watch `.sourceignore` files: when one changes, create a new matcher (see `isSourceIgnoreFile`).
 */
export interface IgnoreMatcher {
  /** `relativePosixPath` is relative to the source directory, `/`-separated, without `./`. */
  ignores(relativePosixPath: string, isDirectory: boolean): boolean;
  /** Like `ignores`, also naming the deciding pattern. */
  check(relativePosixPath: string, isDirectory: boolean): IgnoreVerdict;
}

interface Layer {
  ig: Ignore;
  origin: IgnoreOrigin;
}

const layerOf = (patterns: readonly string[], origin: IgnoreOrigin): Layer => ({
  ig: ignore().add(patterns.map((pattern) => ({ pattern, mark: origin }))),
  origin,
});

/** A matcher the collector grows while it walks (it adds each `.sourceignore` before listing that directory). */
export class LayeredIgnoreMatcher implements IgnoreMatcher {
  private readonly base: Layer;
  private readonly extra: Layer;
  /** Keyed by directory ('' for the root); only ancestors of a path apply, so no ordering is needed. */
  private readonly sourceIgnores = new Map<string, Layer>();

  constructor(extraPatterns: readonly string[] = []) {
    const base = ignore()
      .add(FLUX_DEFAULT_IGNORES.map((pattern) => ({ pattern, mark: 'Flux default' })))
      .add(EDITOR_TEMP_IGNORES.map((pattern) => ({ pattern, mark: 'editor temp file' })));
    this.base = { ig: base, origin: 'Flux default' };
    this.extra = layerOf(extraPatterns, 'sources[].ignore');
  }

  /** Adds the content of `<directory>/.sourceignore`; `directory` is relative ('' for the root). */
  addSourceIgnore(directory: string, content: string): void {
    const file = directory === '' ? SOURCE_IGNORE_FILE : `${directory}/${SOURCE_IGNORE_FILE}`;
    this.sourceIgnores.set(directory, layerOf(content.split(/\r?\n/), file));
  }

  ignores(relativePosixPath: string, isDirectory: boolean): boolean {
    return this.check(relativePosixPath, isDirectory).ignored;
  }

  check(relativePosixPath: string, isDirectory: boolean): IgnoreVerdict {
    // A path under an ignored directory stays ignored whatever later patterns say (git semantics), so decide the
    // ancestors first. The collector skips ignored directories and uses `decide` directly.
    const parts = relativePosixPath.split('/');
    for (let i = 1; i < parts.length; i++) {
      const verdict = this.decide(parts.slice(0, i).join('/'), true);
      if (verdict.ignored) return verdict;
    }
    return this.decide(relativePosixPath, isDirectory);
  }

  /** The verdict for a path whose ancestors are known not to be ignored. */
  decide(path: string, isDirectory: boolean): IgnoreVerdict {
    let verdict: IgnoreVerdict = { ignored: false };
    const apply = (layer: Layer, relative: string): void => {
      const result = layer.ig.test(isDirectory ? `${relative}/` : relative);
      if (result.ignored) {
        verdict = { ignored: true, pattern: result.rule?.pattern, origin: result.rule?.mark ?? layer.origin };
      } else if (result.unignored) {
        verdict = { ignored: false };
      }
    };
    apply(this.base, path);
    if (this.sourceIgnores.size > 0) {
      const root = this.sourceIgnores.get('');
      if (root) apply(root, path);
      for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
        const layer = this.sourceIgnores.get(path.slice(0, slash));
        if (layer) apply(layer, path.slice(slash + 1));
      }
    }
    apply(this.extra, path);
    return verdict;
  }
}

/** Whether a changed path is a `.sourceignore`, so a watcher knows to recreate its matcher. */
export const isSourceIgnoreFile = (relativePosixPath: string): boolean =>
  relativePosixPath === SOURCE_IGNORE_FILE || relativePosixPath.endsWith(`/${SOURCE_IGNORE_FILE}`);

const readSourceIgnore = async (file: string): Promise<string | undefined> => {
  try {
    return await readFile(file, 'utf8');
  } catch {
    // Missing or unreadable (e.g. a directory named .sourceignore): nothing to add, like source-controller.
    return undefined;
  }
};

/**
 * A matcher for a source directory, with every `.sourceignore` in directories that are not themselves ignored.
 * For the file watcher; the artifact builder grows its own while it walks.
 */
export const createIgnoreMatcher = async (
  sourceDir: string,
  extraPatterns: readonly string[] = [],
): Promise<IgnoreMatcher> => {
  const matcher = new LayeredIgnoreMatcher(extraPatterns);
  const limit = createLimiter(64);
  const visit = async (directory: string): Promise<void> => {
    const absolute = directory === '' ? sourceDir : join(sourceDir, directory);
    const entries = await limit(() => readdir(absolute, { withFileTypes: true })).catch((error: unknown) => {
      // A directory that vanished while we walk has nothing to add; one we may not read would hide its
      // .sourceignore, and the artifact build fails on it too (collect.ts), so say so instead of watching blind.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new KsailError(
        'source-unreadable',
        `cannot read directory ${absolute} (${code ?? 'error'}); fix its permissions (chmod u+rx) or add it to the source's ignore patterns`,
        { cause: error, details: { path: absolute } },
      );
    });
    if (entries.some((entry) => entry.name === SOURCE_IGNORE_FILE && entry.isFile())) {
      const content = await limit(() => readSourceIgnore(join(absolute, SOURCE_IGNORE_FILE)));
      if (content !== undefined) matcher.addSourceIgnore(directory, content);
    }
    await Promise.all(
      entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => (directory === '' ? entry.name : `${directory}/${entry.name}`))
        .filter((path) => !matcher.decide(path, true).ignored)
        .map(visit),
    );
  };
  await visit('');
  return matcher;
};
