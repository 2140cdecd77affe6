// The fake cluster for the daemon sections: test/support/fake-cluster is TypeScript and the bench runs plain
// Node, so it is compiled (compile-ts.mjs) and run as a child process.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from './children.mjs';
import { compileTs, ROOT } from './compile-ts.mjs';

// Flux's real CRDs beside the checkout (as the tests use them); the compiled copy cannot find them relatively.
const CRD_DIR = join(ROOT, '../shared/reference/flux-crds');
const TOKEN = 'fake-cluster-token';

// It imports a few modules of src/ too.
const compile = () =>
  compileTs({
    name: 'fake-cluster',
    entries: ['test/support/fake-cluster/index.ts'],
    inputs: ['test/support/fake-cluster', 'src'],
  })[0];

/** Starts the fake cluster in a child process; `close()` stops it. */
export const startFakeCluster = async () => {
  const entry = compile();
  const child = track(
    spawn(
      process.execPath,
      [
        fileURLToPath(new URL('./fake-cluster-child.mjs', import.meta.url)),
        entry,
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
