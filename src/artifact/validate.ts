import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { KsailError } from '../errors.js';
import type { CollectedFile, SkippedPath } from './collect.js';
import { fluxApplySet } from './flux-apply-set.js';
import { kustomizationNamespace, kustomizationRefs } from './kustomization.js';
import {
  checkJson,
  checkYaml,
  decodeText,
  positionsOf,
  type FileProblem,
  type ParsedYaml,
  type Role,
} from './manifest-check.js';
import {
  crdScopes,
  namespaceProblems,
  summarizeDocuments,
  summarizeValues,
  type ObjectSummary,
} from './namespace-check.js';
import { quickYamlCheck } from './quick-check.js';
import type { FileCheck, ValidationCache } from './validation-cache.js';

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
  /** `sources[].name`, for messages. */
  sourceName?: string;
  /** `sources[].kustomizationPath`, the Flux Kustomization's spec.path; default `./` (the artifact root). */
  kustomizationPath?: string;
  /** `sources[].targetNamespace` (spec.targetNamespace). */
  targetNamespace?: string;
  /**
   * Whether a namespaced object without a namespace is a problem (default true): Flux's apply fails on it. With
   * `gitOpsEngine: Kubectl` nothing applies the artifact with Flux, and kubectl puts such objects in the
   * context's namespace.
   */
  namespaceRequired?: boolean;
}

export interface ValidationResult {
  /** Everything that would make Flux fail; any of them blocks the push. */
  problems: ManifestProblem[];
  /** Never blocking: manifests Flux will not apply, with what to do about it. */
  warnings: string[];
}

/**
 * How YAML is checked: `quick` (js-yaml) only ever says "certainly valid" (and hands over the documents it read);
 * `exact` (the `yaml` package, slow) gives the reported problems with positions and runs only when `quick` says no.
 * A parameter so tests can count calls.
 */
export interface YamlCheckers {
  quick: (text: string, role: Exclude<Role, 'kustomization'>, documents?: unknown[]) => boolean;
  exact: (text: string, role: Role) => ParsedYaml;
}

const YAML_CHECKERS: YamlCheckers = { quick: quickYamlCheck, exact: checkYaml };

const JSON_FILE = /\.json$/i;

/** Cold validation of a large source takes most of a second; give the event loop a turn this often. */
const SLICE_MS = 20;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** The checks of one file that depend on nothing but its content and role (so they are cached). */
const checkFile = (
  text: string,
  path: string,
  role: 'object' | 'non-object',
  checkers: YamlCheckers,
): FileCheck => {
  if (JSON_FILE.test(path)) {
    const problems = checkJson(text, role);
    const objects = role === 'object' && problems.length === 0 ? summarizeValues([JSON.parse(text)]) : [];
    return { problems, objects };
  }
  const documents: unknown[] = [];
  if (checkers.quick(text, role, role === 'object' ? documents : undefined)) {
    return { problems: [], objects: summarizeValues(documents) };
  }
  // A file with problems gets its namespace check once they are fixed (as object checks wait for the syntax).
  const parsed = checkers.exact(text, role);
  const clean = role === 'object' && parsed.problems.length === 0;
  return { problems: parsed.problems, objects: clean ? summarizeDocuments(parsed.documents) : [] };
};

/** A `.json` file that parses to something with apiVersion and kind: meant as a manifest, most likely. */
const looksLikeManifest = (file: CollectedFile | undefined): boolean => {
  if (file === undefined) return false;
  try {
    const value: unknown = JSON.parse(decodeText(file.content));
    return isRecord(value) && isText(value.apiVersion) && isText(value.kind);
  } catch {
    return false;
  }
};

/**
 * Every problem in what Flux will apply (FR-017), in tar order: the Kustomization path must exist; kustomizations
 * must parse and list only resources that exist; applied files must parse and hold Kubernetes objects (apiVersion,
 * kind, metadata.name); YAML they reference (patches...) must parse; and namespaced objects must get a namespace.
 * Which files count is decided by `fluxApplySet`; the rest is never judged.
 */
export const checkManifests = async (
  input: ValidationInput,
  cache?: ValidationCache,
  checkers: YamlCheckers = YAML_CHECKERS,
): Promise<ValidationResult> => {
  let sliceStart = performance.now();
  const found = new Map<string, FileProblem[]>();
  const add = (path: string, problems: readonly FileProblem[]): void => {
    if (problems.length > 0) found.set(path, [...(found.get(path) ?? []), ...problems]);
  };
  const byPath = new Map(input.files.map((file) => [file.path, file]));
  const kustomizationPath = input.kustomizationPath ?? './';

  // Kustomizations first: they say what is applied and which files are patches rather than objects. They are few,
  // and whether their resources exist depends on the whole tree, so they are never cached.
  const texts = new Map<string, string>();
  const applied = fluxApplySet({
    tree: { files: new Set(byPath.keys()), directories: input.directories, skipped: input.skipped ?? [] },
    order: input.files.map((file) => file.path),
    kustomizationPath,
    targetNamespace: isText(input.targetNamespace),
    read: (path) => {
      const text = decodeText(byPath.get(path)?.content ?? Buffer.alloc(0));
      texts.set(path, text);
      const { documents, problems } = checkers.exact(text, 'kustomization');
      add(path, problems);
      const first = documents[0];
      if (problems.length > 0 || first === undefined) return undefined;
      return { refs: kustomizationRefs(first), namespace: kustomizationNamespace(first) };
    },
  });
  for (const problem of applied.problems) {
    const at = positionsOf(texts.get(problem.file) ?? '');
    add(problem.file, [{ ...at(problem.offset), message: problem.message }]);
  }

  const kustomizations = new Set(applied.kustomizations);
  const objects = new Map<string, ObjectSummary[]>();
  for (const file of input.files) {
    if (kustomizations.has(file.path)) continue;
    const role = applied.objects.has(file.path)
      ? 'object'
      : applied.nonObjects.has(file.path)
        ? 'non-object'
        : undefined;
    if (role === undefined) continue;
    let check = cache?.lookup(file.path, role, file.content);
    if (check === undefined) {
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      check = checkFile(decodeText(file.content), file.path, role, checkers);
      cache?.store(file.path, role, file.content, check);
    }
    add(file.path, check.problems);
    if (role === 'object') objects.set(file.path, check.objects);
  }
  cache?.commit();

  // The namespace check depends on the whole source (CRDs, kustomizations, targetNamespace): it runs every time,
  // on the cached summaries.
  const context = { sourceName: input.sourceName, crds: crdScopes(objects.values()) };
  for (const [path, summaries] of input.namespaceRequired === false ? [] : objects) {
    if (applied.objects.get(path)?.namespaced !== false) continue;
    const content = byPath.get(path)?.content ?? Buffer.alloc(0);
    add(
      path,
      namespaceProblems(() => decodeText(content), summaries, context),
    );
  }

  const problems: ManifestProblem[] = applied.rootMissing
    ? [
        {
          file: applied.root,
          line: 1,
          column: 1,
          message: `kustomizationPath ${JSON.stringify(kustomizationPath)} is not a directory in the artifact, so Flux fails with "kustomization path not found"; create the directory or fix sources[].kustomizationPath`,
        },
      ]
    : [];
  for (const file of input.files) {
    const inFile = (found.get(file.path) ?? []).map((problem) => ({ file: file.path, ...problem }));
    problems.push(...inFile.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  const warnings = applied.skippedJson
    .filter((path) => looksLikeManifest(byPath.get(path)))
    .map(
      (path) =>
        `${path} is not applied: Flux's generated kustomization takes only .yaml and .yml files; rename it to .yaml or list it in a kustomization.yaml`,
    );
  return { problems, warnings };
};

/** The problems of `checkManifests`. */
export const findManifestProblems = async (
  input: ValidationInput,
  cache?: ValidationCache,
  checkers: YamlCheckers = YAML_CHECKERS,
): Promise<ManifestProblem[]> => (await checkManifests(input, cache, checkers)).problems;

export const formatProblem = (problem: ManifestProblem): string =>
  `${problem.file}:${problem.line}:${problem.column} ${problem.message}`;

/**
 * Throws one `manifest-invalid` error listing every problem; `details.problems` holds them structured. Returns the
 * warnings when there is no problem.
 */
export const validateManifests = async (
  input: ValidationInput,
  cache?: ValidationCache,
): Promise<string[]> => {
  const { problems, warnings } = await checkManifests(input, cache);
  if (problems.length === 0) return warnings;
  const files = new Set(problems.map((problem) => problem.file)).size;
  const header = `source ${input.sourceDir} has ${files} invalid ${files === 1 ? 'manifest' : 'manifests'}; fix them and save again:`;
  throw new KsailError('manifest-invalid', [header, ...problems.map(formatProblem)].join('\n'), {
    details: { source: input.sourceDir, problems },
  });
};
