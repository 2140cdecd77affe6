// TypeScript of test/support (the fake cluster, the real cluster's launcher) for the bench, which runs plain Node:
// compiled (emit only, no type check) into node_modules/.cache/ksail-fluxd-bench/<name>, which git, ESLint and
// Prettier all ignore, and where its imports (yaml, zod, execa...) resolve.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Newest modification time of `path` (a file) or of the files below it (a directory). */
const newest = (path) => {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(
    0,
    ...readdirSync(path, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs),
  );
};

/**
 * Compiles `entries` (paths relative to the checkout) unless their output is newer than every file of `inputs`
 * (the files and directories the entries import), and returns the compiled entries' absolute paths, in order.
 * `links` (relative paths) are symlinked into the output, for code that finds files relative to itself
 * (import.meta.dirname) rather than by import.
 */
export const compileTs = ({ name, entries, inputs, links = [] }) => {
  const outDir = join(ROOT, 'node_modules/.cache/ksail-fluxd-bench', name);
  const outputs = entries.map((entry) => join(outDir, entry.replace(/\.ts$/, '.js')));
  const changed = Math.max(...inputs.map((input) => newest(join(ROOT, input))));
  if (!outputs.every((output) => existsSync(output) && statSync(output).mtimeMs >= changed)) {
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '--noCheck',
        '--outDir',
        outDir,
        '--rootDir',
        ROOT,
        '--target',
        'ES2023',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--esModuleInterop',
        '--skipLibCheck',
        '--verbatimModuleSyntax',
        '--resolveJsonModule',
        '--types',
        'node',
        ...entries.map((entry) => join(ROOT, entry)),
      ],
      { cwd: ROOT, stdio: 'inherit' },
    );
  }
  for (const link of links) {
    const at = join(outDir, link);
    if (lstatSync(at, { throwIfNoEntry: false })) continue;
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(join(ROOT, link), at);
  }
  return outputs;
};
