// The fake cluster for the daemon sections: test/support/fake-cluster is TypeScript and the bench runs plain
// Node, so it is compiled (emit only, no type check) and run as a child process. The output goes to
// node_modules/.cache, which git, ESLint and Prettier all ignore, and where its imports (yaml, zod...) resolve.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from './children.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIR = join(ROOT, 'test/support/fake-cluster');
const OUT_DIR = join(ROOT, 'node_modules/.cache/ksail-fluxd-bench/fake-cluster');
const ENTRY = join(OUT_DIR, 'test/support/fake-cluster/index.js');
// Flux's real CRDs beside the checkout (as the tests use them); the compiled copy cannot find them relatively.
const CRD_DIR = join(ROOT, '../shared/reference/flux-crds');
const TOKEN = 'fake-cluster-token';

/** Newest modification time of the files below `dir`. */
const newest = (dir) =>
  Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs),
  );

const compile = () => {
  // It imports a few modules of src/ too.
  const sources = Math.max(newest(SOURCE_DIR), newest(join(ROOT, 'src')));
  if (existsSync(ENTRY) && statSync(ENTRY).mtimeMs >= sources) return;
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--noCheck',
      '--outDir',
      OUT_DIR,
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
      join(SOURCE_DIR, 'index.ts'),
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
};

/** Starts the fake cluster in a child process; `close()` stops it. */
export const startFakeCluster = async () => {
  compile();
  const child = track(
    spawn(
      process.execPath,
      [
        fileURLToPath(new URL('./fake-cluster-child.mjs', import.meta.url)),
        ENTRY,
        existsSync(CRD_DIR) ? CRD_DIR : '',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  const stderr = [];
  child.stderr.on('data', (chunk) => {
    stderr.push(chunk.toString('utf8'));
    if (stderr.length > 50) stderr.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const first = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`fake cluster exited ${code}: ${stderr.join('')}`)));
  });
  const api = async (path) => {
    const response = await fetch(`${first.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`fake cluster GET ${path}: ${response.status}`);
    return response.json();
  };
  let closing;
  return {
    ...first,
    /** spec.ref.tag of the OCIRepository `name` in flux-system. */
    tagOf: async (name) =>
      (await api(`/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/ocirepositories/${name}`))?.spec
        ?.ref?.tag,
    close: () => {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
};
