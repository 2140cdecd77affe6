import { posix } from 'node:path';
import { isMap, isScalar, isSeq, type Document } from 'yaml';
import type { SkippedPath } from './collect.js';

/** File names Kustomize reads as its config (kustomize's konfig.RecognizedKustomizationFileNames). */
export const KUSTOMIZATION_FILE_NAMES: readonly string[] = [
  'kustomization.yaml',
  'kustomization.yml',
  'Kustomization',
];

export const isKustomizationFile = (path: string): boolean =>
  KUSTOMIZATION_FILE_NAMES.includes(posix.basename(path));

export interface Reference {
  /** As written in the kustomization. */
  value: string;
  /** Offset of the entry in the kustomization, for the problem's line and column. */
  offset: number;
}

export interface KustomizationRefs {
  /** `resources`, `components` and the deprecated `bases` (kustomize still reads it as resources): must exist. */
  resources: Reference[];
  /** Patches, configurations, CRDs...: YAML that is not a Kubernetes object, so exempt from the object checks. */
  nonObjects: string[];
  /** Generator inputs (configMapGenerator files/envs): data, exempt from every check. */
  data: string[];
}

const stringsOf = (node: unknown): { value: string; offset: number }[] => {
  if (isScalar(node) && typeof node.value === 'string')
    return [{ value: node.value, offset: node.range?.[0] ?? 0 }];
  if (isSeq(node)) return node.items.flatMap(stringsOf);
  return [];
};

const fieldOf = (node: unknown, key: string): unknown => (isMap(node) ? node.get(key, true) : undefined);
const itemsOf = (node: unknown): unknown[] => (isSeq(node) ? node.items : []);

/** Paths a kustomization refers to, sorted by how they must be checked. Inline patches (with newlines) are skipped. */
export const kustomizationRefs = (doc: Document.Parsed): KustomizationRefs => {
  const root = doc.contents;
  const resources = ['resources', 'components', 'bases'].flatMap((key) => stringsOf(fieldOf(root, key)));
  const nonObjects = [
    ...itemsOf(fieldOf(root, 'patches')).flatMap((patch) => stringsOf(fieldOf(patch, 'path'))),
    ...itemsOf(fieldOf(root, 'patchesJson6902')).flatMap((patch) => stringsOf(fieldOf(patch, 'path'))),
    ...itemsOf(fieldOf(root, 'replacements')).flatMap((item) => stringsOf(fieldOf(item, 'path'))),
    ...itemsOf(fieldOf(root, 'helmCharts')).flatMap((chart) => stringsOf(fieldOf(chart, 'valuesFile'))),
    ...stringsOf(fieldOf(fieldOf(root, 'openapi'), 'path')),
    ...[
      'patchesStrategicMerge',
      'configurations',
      'crds',
      'transformers',
      'generators',
      'validators',
    ].flatMap((key) => stringsOf(fieldOf(root, key))),
  ].map((ref) => ref.value);
  const data = ['configMapGenerator', 'secretGenerator'].flatMap((key) =>
    itemsOf(fieldOf(root, key)).flatMap((generator) =>
      ['files', 'envs', 'env']
        .flatMap((field) => stringsOf(fieldOf(generator, field)))
        // `files` entries may be `key=path`.
        .map((ref) => ref.value.slice(ref.value.indexOf('=') + 1)),
    ),
  );
  const local = (value: string): boolean => !value.includes('\n');
  return { resources, nonObjects: nonObjects.filter(local), data: data.filter(local) };
};

/**
 * The kustomization's `namespace:` (kustomize's namespace transformer sets it on every namespaced object it builds,
 * those of nested kustomizations included), or undefined when it sets none.
 */
export const kustomizationNamespace = (doc: Document.Parsed): string | undefined => {
  const node = fieldOf(doc.contents, 'namespace');
  return isScalar(node) && typeof node.value === 'string' && node.value !== '' ? node.value : undefined;
};

/** The artifact path a reference points at, relative to the source root (`..` when it leaves the source). */
export const resolveReference = (kustomizationPath: string, value: string): string => {
  const joined = posix.normalize(posix.join(posix.dirname(kustomizationPath), value));
  return joined.endsWith('/') && joined.length > 1 ? joined.slice(0, -1) : joined;
};

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const HOST_PATH = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?\//i;

/** Kustomize tries a path locally first, then as a remote target (`https://...`, `git@...`, `github.com/...`). */
export const looksRemote = (value: string): boolean =>
  SCHEME.test(value) || value.startsWith('git@') || HOST_PATH.test(value);

export interface ArtifactTree {
  files: ReadonlySet<string>;
  directories: ReadonlySet<string>;
  skipped: readonly SkippedPath[];
}

/** Why a `resources` entry is not in the artifact, or undefined when it is (or is remote). */
export const missingReferenceMessage = (
  kustomizationPath: string,
  value: string,
  tree: ArtifactTree,
): string | undefined => {
  const target = resolveReference(kustomizationPath, value);
  if (target === '.' || tree.files.has(target) || tree.directories.has(target)) return undefined;
  if (looksRemote(value)) return undefined;
  const quoted = JSON.stringify(value);
  if (posix.isAbsolute(value)) {
    return `resource ${quoted} is an absolute path; use a path relative to the kustomization`;
  }
  if (target === '..' || target.startsWith('../')) {
    return `resource ${quoted} points outside the source directory, which the artifact does not contain; move it into the source or use a remote URL`;
  }
  const skipped = tree.skipped.find((item) => target === item.path || target.startsWith(`${item.path}/`));
  switch (skipped?.reason) {
    case 'ignored': {
      const rule =
        skipped.verdict?.pattern === undefined
          ? ''
          : ` (${skipped.verdict.pattern} in ${skipped.verdict.origin ?? 'ignore rules'})`;
      return `resource ${quoted} is excluded by ignore rules${rule}; stop ignoring it or remove it from resources`;
    }
    case 'symlink':
      return `resource ${quoted} is a symlink, which the artifact skips; replace it with the real file or directory`;
    default: {
      const where = target === value.replace(/^\.\//, '').replace(/\/$/, '') ? '' : ` (looked for ${target})`;
      return `resource ${quoted} does not exist${where}; create it or remove it from resources`;
    }
  }
};
