import { posix } from 'node:path';
import {
  KUSTOMIZATION_FILE_NAMES,
  missingReferenceMessage,
  resolveReference,
  type ArtifactTree,
  type KustomizationRefs,
} from './kustomization.js';

/*
 * Which files of an artifact Flux applies, following kustomize-controller: the Kustomization's `spec.path` is
 * built by fluxcd/pkg/kustomize (kustomize_generator.go). `findOrGenerateKustomization` uses the kustomization file
 * in that directory when there is one, so kustomize builds only what it lists; otherwise `scanManifests` generates
 * one. Validation judges only what this module says is applied, so files Flux never reads never block a push.
 */

/** What the apply set needs from one kustomization file; `read` gives undefined when the file does not parse. */
export interface KustomizationInfo {
  refs: KustomizationRefs;
  namespace: string | undefined;
}

export interface ApplySetInput {
  tree: ArtifactTree;
  /** The artifact's files in tar order (the order of `tree.files` is not relied on). */
  order: readonly string[];
  /** `sources[].kustomizationPath`: the Kustomization's spec.path, relative to the artifact root. */
  kustomizationPath: string;
  /** Whether the source sets `targetNamespace` (spec.targetNamespace), which wins over every other namespace. */
  targetNamespace: boolean;
  /** Parses a kustomization file; called at most once per file. */
  read: (path: string) => KustomizationInfo | undefined;
}

/** A problem in a kustomization's references; the offset is turned into a line and column by the caller. */
export interface ReferenceProblem {
  file: string;
  offset: number;
  message: string;
}

export interface AppliedObjectFile {
  /** Whether every way Flux reaches the file sets a namespace (targetNamespace or a kustomization `namespace:`). */
  namespaced: boolean;
}

export interface FluxApplySet {
  /** spec.path normalized: `.` for the artifact root, else e.g. `apps/dev`. */
  root: string;
  /** spec.path is not a directory of the artifact: kustomize-controller fails with "kustomization path not found". */
  rootMissing: boolean;
  /** The kustomization files kustomize reads, in the order they are reached. */
  kustomizations: string[];
  /** Files applied as Kubernetes objects. */
  objects: Map<string, AppliedObjectFile>;
  /** YAML kustomize reads that is not an object: patches, replacements, configurations... */
  nonObjects: Set<string>;
  problems: ReferenceProblem[];
  /** `.json` files the generated kustomization leaves out (scanManifests takes only .yaml and .yml). */
  skippedJson: string[];
}

/** kustomize-controller joins spec.path with securejoin.SecureJoin: `..` cannot leave the artifact root. */
export const normalizeKustomizationPath = (value: string): string => {
  const joined = posix.normalize(posix.join('/', value)).replace(/\/+$/, '');
  return joined === '' ? '.' : joined.slice(1);
};

const isUnder = (path: string, directory: string): boolean =>
  directory === '.' || path.startsWith(`${directory}/`);

/** scanManifests compares filepath.Ext with exactly ".yaml" and ".yml" (case-sensitive). */
const isGeneratedResource = (path: string): boolean => path.endsWith('.yaml') || path.endsWith('.yml');

const JSON_FILE = /\.json$/i;

const noKustomizationMessage = (value: string): string =>
  `resource ${JSON.stringify(value)} is a directory without a kustomization.yaml, which kustomize cannot build; add a kustomization.yaml listing its files, or list the files instead`;

export const fluxApplySet = (input: ApplySetInput): FluxApplySet => {
  const { tree } = input;
  const root = normalizeKustomizationPath(input.kustomizationPath);
  const set: FluxApplySet = {
    root,
    rootMissing: root !== '.' && !tree.directories.has(root),
    kustomizations: [],
    objects: new Map(),
    nonObjects: new Set(),
    problems: [],
    skippedJson: [],
  };
  if (set.rootMissing) return set;

  // findOrGenerateKustomization and scanManifests take the first of konfig.RecognizedKustomizationFileNames.
  const kustomizationIn = (directory: string): string | undefined =>
    KUSTOMIZATION_FILE_NAMES.map((name) => (directory === '.' ? name : `${directory}/${name}`)).find((path) =>
      tree.files.has(path),
    );
  const addObject = (path: string, namespaced: boolean): void => {
    const previous = set.objects.get(path);
    set.objects.set(path, { namespaced: namespaced && (previous?.namespaced ?? true) });
  };

  const infos = new Map<string, KustomizationInfo | undefined>();
  const visited = new Set<string>();
  /** Kustomize builds `path`: its resources are objects, its resource directories are built the same way. */
  const build = (path: string, namespaced: boolean): void => {
    const key = `${String(namespaced)}:${path}`;
    if (visited.has(key)) return;
    visited.add(key);
    const first = !infos.has(path);
    if (first) {
      set.kustomizations.push(path);
      infos.set(path, input.read(path));
    }
    const info = infos.get(path);
    if (info === undefined) return;
    const inner = namespaced || info.namespace !== undefined;
    for (const ref of info.refs.resources) {
      const target = resolveReference(path, ref.value);
      if (tree.files.has(target)) {
        addObject(target, inner);
      } else if (target === '.' || tree.directories.has(target)) {
        const nested = kustomizationIn(target);
        if (nested !== undefined) build(nested, inner);
        else if (first)
          set.problems.push({ file: path, offset: ref.offset, message: noKustomizationMessage(ref.value) });
      } else if (first) {
        const message = missingReferenceMessage(path, ref.value, tree);
        if (message !== undefined) set.problems.push({ file: path, offset: ref.offset, message });
      }
    }
    for (const ref of info.refs.nonObjects) set.nonObjects.add(resolveReference(path, ref));
  };

  const top = kustomizationIn(root);
  if (top !== undefined) {
    build(top, input.targetNamespace);
    return set;
  }

  // scanManifests: walk spec.path; a subdirectory holding a kustomization file is one resource (filepath.SkipDir),
  // other subdirectories are descended, and only .yaml/.yml files are resources. The generated kustomization's only
  // namespace is targetNamespace.
  const units = new Map<string, string | undefined>();
  const unitOf = (directory: string): string | undefined => {
    if (directory === root || directory === '.') return undefined;
    if (units.has(directory)) return units.get(directory);
    const unit = unitOf(posix.dirname(directory)) ?? (kustomizationIn(directory) ? directory : undefined);
    units.set(directory, unit);
    return unit;
  };
  const built = new Set<string>();
  for (const path of input.order) {
    if (!isUnder(path, root)) continue;
    const unit = unitOf(posix.dirname(path));
    if (unit !== undefined) {
      const kustomization = kustomizationIn(unit);
      if (!built.has(unit) && kustomization !== undefined) {
        built.add(unit);
        build(kustomization, input.targetNamespace);
      }
    } else if (isGeneratedResource(path)) {
      addObject(path, input.targetNamespace);
    } else if (JSON_FILE.test(path)) {
      set.skippedJson.push(path);
    }
  }
  return set;
};
