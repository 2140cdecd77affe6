// Deterministic benchmark sources: YAML-like text that compresses like real manifests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// dist/: `npm run bench` builds first.
import { SourceConfig } from '../dist/config/schema.js';

const lcg = (seed) => {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
};

/** Writes `files` files totalling about `bytes` into `dir`, in subdirectories of 50 files. */
export const writeSource = async (dir, files, bytes, seed = 1) => {
  const next = lcg(seed);
  const perFile = Math.max(64, Math.floor(bytes / files));
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `group-${String(Math.floor(i / 50)).padStart(3, '0')}`);
    await mkdir(sub, { recursive: true });
    let body = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: default\ndata:\n`;
    let line = 0;
    while (body.length < perFile) {
      body += `  key-${line++}: "${next().toString(36)}-${next().toString(16)}-value"\n`;
    }
    await writeFile(join(sub, `cm-${i}.yaml`), body);
  }
};

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** A source as the config loader resolves it, with the schema's defaults. */
export const resolvedSource = (name, dir, repository) => ({
  ...SourceConfig.parse({ name, path: dir }),
  absolutePath: dir,
  repository,
});
