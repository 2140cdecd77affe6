import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { KsailError } from '../errors.js';
import type { CollectedFile, SkippedPath } from './collect.js';
import {
  isKustomizationFile,
  kustomizationRefs,
  missingReferenceMessage,
  resolveReference,
} from './kustomization.js';
import {
  checkJson,
  checkYaml,
  decodeText,
  positionsOf,
  type FileProblem,
  type ParsedYaml,
  type Role,
} from './manifest-check.js';
import { quickYamlCheck } from './quick-check.js';
import type { ValidationCache } from './validation-cache.js';

/** One problem, 1-based line and column; `file` is relative to the source directory. */
export interface ManifestProblem extends FileProblem {
  file: string;
}

export interface ValidationInput {
  sourceDir: string;
  /** The bytes already read for the tarball; nothing is read again. */
  files: readonly CollectedFile[];
  directories: ReadonlySet<string>;
  skipped?: readonly SkippedPath[];
}

/**
 * How YAML is checked: `quick` (js-yaml) only ever says "certainly valid"; `exact` (the `yaml` package, slow) gives
 * the reported problems with positions and runs only when `quick` says no. A parameter so tests can count calls.
 */
export interface YamlCheckers {
  quick: (text: string, role: Exclude<Role, 'kustomization'>) => boolean;
  exact: (text: string, role: Role) => ParsedYaml;
}

const YAML_CHECKERS: YamlCheckers = { quick: quickYamlCheck, exact: checkYaml };

const MANIFEST_EXTENSION = /\.(?:ya?ml|json)$/i;

/** Cold validation of a large source takes most of a second; give the event loop a turn this often. */
const SLICE_MS = 20;

/**
 * Every problem in the manifests (FR-017), in tar order: YAML/JSON syntax, documents that are not Kubernetes objects
 * (apiVersion, kind, metadata.name), and kustomization `resources` missing from the artifact.
 */
export const findManifestProblems = async (
  input: ValidationInput,
  cache?: ValidationCache,
  checkers: YamlCheckers = YAML_CHECKERS,
): Promise<ManifestProblem[]> => {
  let sliceStart = performance.now();
  const found = new Map<string, FileProblem[]>();
  const tree = {
    files: new Set(input.files.map((file) => file.path)),
    directories: input.directories,
    skipped: input.skipped ?? [],
  };

  // Kustomizations first: they say which files are patches or generator data rather than objects. They are few,
  // and whether their resources exist depends on the whole tree, so they are never cached.
  const roles = new Map<string, 'non-object' | 'data'>();
  for (const file of input.files) {
    if (!isKustomizationFile(file.path)) continue;
    const text = decodeText(file.content);
    const { documents, problems } = checkers.exact(text, 'kustomization');
    const first = documents[0];
    if (problems.length === 0 && first !== undefined) {
      const refs = kustomizationRefs(first);
      for (const ref of refs.nonObjects) roles.set(resolveReference(file.path, ref), 'non-object');
      for (const ref of refs.data) roles.set(resolveReference(file.path, ref), 'data');
      const at = positionsOf(text);
      for (const ref of refs.resources) {
        const message = missingReferenceMessage(file.path, ref.value, tree);
        if (message !== undefined) problems.push({ ...at(ref.offset), message });
      }
    }
    if (problems.length > 0) found.set(file.path, problems);
  }

  for (const file of input.files) {
    if (isKustomizationFile(file.path) || !MANIFEST_EXTENSION.test(file.path)) continue;
    const role = roles.get(file.path) ?? 'object';
    if (role === 'data') continue;
    let problems = cache?.lookup(file.path, role, file.content);
    if (problems === undefined) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      const text = decodeText(file.content);
      if (/\.json$/i.test(file.path)) problems = checkJson(text, role);
      else problems = checkers.quick(text, role) ? [] : checkers.exact(text, role).problems;
      cache?.store(file.path, role, file.content, problems);
    }
    if (problems.length > 0) found.set(file.path, problems);
  }
  cache?.commit();

  return input.files.flatMap((file) =>
    (found.get(file.path) ?? [])
      .map((problem) => ({ file: file.path, ...problem }))
      .sort((a, b) => a.line - b.line || a.column - b.column),
  );
};

export const formatProblem = (problem: ManifestProblem): string =>
  `${problem.file}:${problem.line}:${problem.column} ${problem.message}`;

/** Throws one `manifest-invalid` error listing every problem; `details.problems` holds them structured. */
export const validateManifests = async (input: ValidationInput, cache?: ValidationCache): Promise<void> => {
  const problems = await findManifestProblems(input, cache);
  if (problems.length === 0) return;
  const files = new Set(problems.map((problem) => problem.file)).size;
  const header = `source ${input.sourceDir} has ${files} invalid manifest(s); fix them and save again:`;
  throw new KsailError('manifest-invalid', [header, ...problems.map(formatProblem)].join('\n'), {
    details: { source: input.sourceDir, problems },
  });
};
