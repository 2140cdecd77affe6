import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The binaries scripts/real-cluster/build.sh builds, and the Flux CRDs it copies from the controllers' modules. */
export const CLUSTER_BINARIES = [
  'etcd',
  'kube-apiserver',
  'source-controller',
  'kustomize-controller',
  'flux',
] as const;
export type ClusterBinary = (typeof CLUSTER_BINARIES)[number];

export interface ClusterBinaries {
  dir: string;
  path(name: ClusterBinary): string;
  crdDir: string;
  /** Module versions, from versions.json. */
  versions: Record<string, string | number>;
}

export type BinariesLookup = { found: true; binaries: ClusterBinaries } | { found: false; reason: string };

const ROOT = resolve(import.meta.dirname, '../../..');
const BUILD = join(ROOT, 'scripts/real-cluster/build.sh');
const HOW =
  'run `bash scripts/real-cluster/build.sh` (needs Go 1.26 and the Go module proxy; about 20 min cold)';

const fromDir = async (dir: string): Promise<BinariesLookup> => {
  const missing = CLUSTER_BINARIES.filter((name) => !existsSync(join(dir, 'bin', name)));
  if (missing.length > 0) return { found: false, reason: `${dir}/bin lacks ${missing.join(', ')}; ${HOW}` };
  const versions = await readFile(join(dir, 'versions.json'), 'utf8')
    .then((text) => JSON.parse(text) as Record<string, string | number>)
    .catch(() => ({}));
  return {
    found: true,
    binaries: { dir, path: (name) => join(dir, 'bin', name), crdDir: join(dir, 'crds'), versions },
  };
};

/**
 * Finds the built binaries: `KSAIL_FLUXD_CLUSTER_DIR` when set, else the build script's cache entry for the
 * pinned modules (`build.sh --cached` computes the key, so it lives in one place). Never builds: CI builds them in
 * scripts/ci-setup.sh, a developer runs the build script once.
 */
export const findClusterBinaries = async (): Promise<BinariesLookup> => {
  const override = process.env.KSAIL_FLUXD_CLUSTER_DIR;
  if (override) return fromDir(override);
  const result = await execa('bash', [BUILD, '--cached'], { reject: false });
  if (result.exitCode === 0) {
    const dir = result.stdout.trim().split('\n').pop() ?? '';
    return fromDir(dir);
  }
  const said = result.stderr.trim().replace(/^\[real-cluster\] /gm, '');
  return { found: false, reason: `the real cluster is not built (${said || result.shortMessage}); ${HOW}` };
};
