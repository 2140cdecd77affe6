import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ksailConfigLayer } from './effective.js';
import type { KsailCluster } from './ksail-yaml.js';

/** Directories never searched for manifests: dependencies, build output, VCS data. */
const SKIPPED = new Set(['node_modules', 'dist', 'build', 'vendor', 'coverage', 'target']);
const KUSTOMIZATION_FILES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);
/** How deep `init` looks below the project directory. */
const MAX_DEPTH = 4;

/** Whether a YAML file holds at least one Kubernetes object (a mapping with apiVersion and kind). */
const holdsManifest = async (file: string): Promise<boolean> => {
  try {
    const text = await readFile(file, 'utf8');
    return parseAllDocuments(text).some((doc) => {
      if (!('toJS' in doc) || doc.errors.length > 0) return false;
      const value: unknown = doc.toJS();
      return typeof value === 'object' && value !== null && 'apiVersion' in value && 'kind' in value;
    });
  } catch {
    return false;
  }
};

/**
 * The directories of manifests under `root`, outermost first: a directory with a kustomization file, or with YAML
 * files that hold Kubernetes objects. Below a found directory nothing more is looked for, since Flux applies its
 * subdirectories with it.
 */
export const findManifestDirs = async (root: string): Promise<string[]> => {
  const found: string[] = [];
  const visit = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const files = entries.filter((entry) => entry.isFile());
    const isSource =
      files.some((entry) => KUSTOMIZATION_FILES.has(entry.name)) ||
      (
        await Promise.all(
          files
            .filter(
              (entry) => /\.ya?ml$/.test(entry.name) && !/^(ksail|ksail-fluxd)\.ya?ml$/.test(entry.name),
            )
            .map((entry) => holdsManifest(join(dir, entry.name))),
        )
      ).some(Boolean);
    if (isSource && dir !== root) {
      found.push(dir);
      return;
    }
    if (depth >= MAX_DEPTH) return;
    const dirs = entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !SKIPPED.has(entry.name))
      .map((entry) => entry.name)
      .sort();
    for (const name of dirs) await visit(join(dir, name), depth + 1);
  };
  await visit(root, 0);
  return found;
};

const label = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '') || 'app';

/** Source names from directories: the directory's name, or its whole relative path when two share a name. */
export const sourceNames = (root: string, dirs: readonly string[]): string[] => {
  const short = dirs.map((dir) => label(basename(dir)));
  return dirs.map((dir, index) =>
    short.filter((name) => name === short[index]).length > 1 ? label(relative(root, dir)) : short[index]!,
  );
};

/** A YAML scalar: plain when that reads back as the same string, else double-quoted. */
const scalar = (value: unknown): string =>
  typeof value === 'string' && !/^[A-Za-z0-9._/~-][A-Za-z0-9._/:@-]*$/.test(value)
    ? JSON.stringify(value)
    : typeof value === 'string' && ['true', 'false', 'null', 'yes', 'no', '~'].includes(value)
      ? JSON.stringify(value)
      : String(value);

const relativePath = (root: string, dir: string): string => `./${relative(root, dir).split(sep).join('/')}`;

export interface InitInput {
  root: string;
  /** The schema file, relative to the file written (or a URL). */
  schema: string;
  ksail: KsailCluster | undefined;
  /** Directories of manifests (findManifestDirs), used without a ksail.yaml. */
  dirs: readonly string[];
}

/**
 * The text of a commented ksail-fluxd.yaml: from ksail.yaml's values when there is one, else one source per
 * directory of manifests. Only keys with values are written (a section holding only comments would be null).
 */
export const initConfigText = (input: InitInput): { text: string; sources: string[] } => {
  const lines = [
    `# yaml-language-server: $schema=${input.schema}`,
    '# ksail-fluxd configuration, written by `ksail-fluxd init`. Every key, with its default, is in',
    '# config/ksail-fluxd.example.yaml. Values here win over ksail.yaml; KSAIL_FLUXD_* variables and flags win',
    '# over this file. `ksail-fluxd config` prints the result and where each value came from.',
    '',
  ];
  let sources: Array<{ name: string; path: string }>;
  if (input.ksail) {
    const layer = ksailConfigLayer(input.ksail);
    lines.push(
      `# From ${basename(input.ksail.file)} (${input.ksail.shape}${input.ksail.name ? `, cluster ${input.ksail.name}` : ''}).`,
    );
    if (layer.project)
      lines.push(
        "# Prefix of repository names: the path of KSail's registry.",
        `project: ${scalar(layer.project)}`,
      );
    lines.push(
      "# Flux: patch each OCIRepository tag and reconcile; Kubectl: push only (KSail's gitOpsEngine None).",
      `gitOpsEngine: ${scalar(layer.gitOpsEngine)}`,
    );
    if (layer.registryPort !== undefined) {
      const registry = layer.registry as { name: string; volumeName?: string };
      lines.push(
        "# KSail's registry: ksail-fluxd uses the running container as it is, and never removes it or its volume.",
        `registryPort: ${scalar(layer.registryPort)}`,
        'registry:',
        `  name: ${scalar(registry.name)}`,
        ...(registry.volumeName ? [`  volumeName: ${scalar(registry.volumeName)}`] : []),
      );
    }
    if (layer.fluxInterval) lines.push(`fluxInterval: ${scalar(layer.fluxInterval)}`);
    const cluster = layer.cluster as Record<string, string> | undefined;
    if (cluster) {
      lines.push(
        '# The cluster: its Docker network (the registry joins it), kubeconfig and context.',
        'cluster:',
        ...Object.entries(cluster).map(([key, value]) => `  ${key}: ${scalar(value)}`),
      );
    }
    sources = layer.sources as Array<{ name: string; path: string }>;
    lines.push('');
  } else {
    lines.push(
      '# Flux: patch each OCIRepository tag and reconcile; Kubectl: push only.',
      'gitOpsEngine: Flux',
      '# Host port of the local registry (registry:3 in Docker, bound to 127.0.0.1 only).',
      'registryPort: 5000',
      '# The Docker network of your cluster (kind: kind, k3d: k3d-<cluster>); the registry joins it so Flux can pull:',
      '# cluster:',
      '#   network: kind',
      '',
    );
    const names = sourceNames(input.root, input.dirs);
    sources = input.dirs.map((dir, index) => ({ name: names[index]!, path: relativePath(input.root, dir) }));
  }
  if (sources.length === 0) {
    lines.push(
      '# No directory of manifests was found. Add one source per directory, for example:',
      '# sources:',
      '#   - name: app',
      '#     path: ./k8s/app',
      '#     targetNamespace: default',
    );
  } else {
    lines.push(
      '# One source per directory of manifests: each is pushed as its own artifact and gets an OCIRepository and a',
      '# Kustomization named after it. Optional: targetNamespace, bump (patch|minor|major), ignore, prune, keep.',
      'sources:',
      ...sources.flatMap((source) => [
        `  - name: ${scalar(source.name)}`,
        `    path: ${scalar(source.path)}`,
      ]),
    );
  }
  return { text: `${lines.join('\n')}\n`, sources: sources.map((source) => source.name) };
};
