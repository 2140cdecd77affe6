import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { describe, expect, it, vi } from 'vitest';
import { createValidationCache } from '../../../src/artifact/index.js';
import { checkYaml } from '../../../src/artifact/manifest-check.js';
import { quickYamlCheck } from '../../../src/artifact/quick-check.js';
import {
  findManifestProblems,
  formatProblem,
  type ManifestProblem,
  type YamlCheckers,
} from '../../../src/artifact/validate.js';
import { memoryInput } from './tree.js';
import { DIVERGENT_READING, DIVERGENT_SYNTAX, INVALID, VALID, asFiles } from './yaml-corpus.js';

const input = memoryInput;

/** A kustomization that lists `files` (so Flux applies every one of them), a missing file, and PATCH. */
const listing = (files: Record<string, string>): string =>
  [
    'resources:',
    ...Object.keys(files).map((path) => `  - ${JSON.stringify(path)}`),
    '  - missing.yaml',
    'patches:',
    '  - path: patch.yaml',
    '',
  ].join('\n');

/** The exact check alone: what validation reported before the fast path existed. */
const exactOnly: YamlCheckers = { quick: () => false, exact: checkYaml };

/** The real checkers, counted. */
const spied = () => ({ quick: vi.fn(quickYamlCheck), exact: vi.fn(checkYaml) }) satisfies YamlCheckers;

/** What a naive fast path would conclude from js-yaml's values alone. */
const naivelyValid = (text: string): boolean =>
  loadAll(text, undefined, { schema: CORE_SCHEMA }).every((doc) => {
    const object = doc as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
    return object === null || [object.apiVersion, object.kind, object.metadata?.name].every((v) => !!v);
  });

const PATCH = '- op: add\n  path: /data/x\n  value: y\n';

describe('quickYamlCheck', () => {
  it.each(Object.entries(VALID))('passes the valid %s without the exact check', (_name, text) => {
    expect(checkYaml(text, 'object').problems).toEqual([]);
    expect(quickYamlCheck(text, 'object')).toBe(true);
  });

  it.each(Object.entries(INVALID))('hands %s to the exact check', (_name, text) => {
    expect(checkYaml(text, 'object').problems).not.toEqual([]);
    expect(quickYamlCheck(text, 'object')).toBe(false);
  });

  it.each(Object.entries(DIVERGENT_SYNTAX))(
    'hands %s, which only yaml rejects, to the exact check',
    (_, text) => {
      expect(() => loadAll(text, undefined, { schema: CORE_SCHEMA })).not.toThrow();
      expect(checkYaml(text, 'non-object').problems).not.toEqual([]);
      expect(quickYamlCheck(text, 'non-object')).toBe(false);
      expect(quickYamlCheck(text, 'object')).toBe(false);
    },
  );

  it.each(Object.entries(DIVERGENT_READING))(
    'hands %s, which js-yaml reads differently, to the exact check',
    (_, text) => {
      expect(naivelyValid(text)).toBe(true);
      expect(checkYaml(text, 'object').problems).not.toEqual([]);
      expect(quickYamlCheck(text, 'object')).toBe(false);
    },
  );

  it('checks only the syntax of YAML that is not a Kubernetes object', () => {
    expect(quickYamlCheck(PATCH, 'non-object')).toBe(true);
    expect(quickYamlCheck(INVALID['sequence.yaml'] ?? '', 'non-object')).toBe(true);
    expect(quickYamlCheck(INVALID['syntax.yaml'] ?? '', 'non-object')).toBe(false);
  });
});

describe('findManifestProblems with the fast path', () => {
  const bad = {
    ...asFiles('invalid', INVALID),
    ...asFiles('syntax', DIVERGENT_SYNTAX),
    ...asFiles('reading', DIVERGENT_READING),
  };
  const manifests = {
    ...VALID,
    ...bad,
    'ok.json': '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}',
    'bad.json': '{"apiVersion": "v1", "kind": "ConfigMap",}',
  };
  const everything = { ...manifests, 'kustomization.yaml': listing(manifests), 'patch.yaml': PATCH };

  it('reports exactly what the exact check alone reports, message for message', async () => {
    const fast = await findManifestProblems(input(everything));
    const exact = await findManifestProblems(input(everything), undefined, exactOnly);
    // The namespace problems included: the objects js-yaml reads are the ones the exact check reads.
    expect(fast).toEqual(exact);
    const namespace = (problem: ManifestProblem): boolean => problem.message.includes('has no namespace');
    const reported = [...new Set(fast.filter((p) => !namespace(p)).map((problem) => problem.file))].sort();
    expect(reported).toEqual([...Object.keys(bad), 'bad.json', 'kustomization.yaml'].sort());
    const missingLine = Object.keys(manifests).length + 2;
    expect(fast.map(formatProblem)).toContain(
      `kustomization.yaml:${missingLine}:5 resource "missing.yaml" does not exist; create it or remove it from resources`,
    );
    expect(
      fast.filter(namespace).map((problem) => `${problem.file}:${problem.line}:${problem.column}`),
    ).toEqual([
      'multi.yaml:5:3',
      'multi.yaml:16:3',
      'configmap.yaml:4:3',
      'windows.yaml:4:3',
      'helm.yaml:4:3',
      'ok.json:1:55',
    ]);
  });

  it('never runs the exact check on a valid manifest, and runs it once on each invalid one', async () => {
    const valid = spied();
    const validFiles = { ...VALID, 'kustomization.yaml': listing(VALID), 'patch.yaml': PATCH };
    const problems = await findManifestProblems(
      input(validFiles, { targetNamespace: 'apps' }),
      undefined,
      valid,
    );
    expect(problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^kustomization\.yaml:\d+:5 resource "missing\.yaml" does not exist/),
    ]);
    // Only on the kustomization, whose references need positions.
    expect(valid.exact.mock.calls.map(([, role]) => role)).toEqual(['kustomization']);
    expect(valid.quick).toHaveBeenCalledTimes(Object.keys(VALID).length + 1);

    const invalid = spied();
    await findManifestProblems(input(bad), undefined, invalid);
    expect(invalid.exact).toHaveBeenCalledTimes(Object.keys(bad).length);
  });

  it('checks nothing again when the cache has every file', async () => {
    const cache = createValidationCache();
    const files = input({ ...VALID, 'invalid.yaml': INVALID['no-kind.yaml'] ?? '' });
    const first = await findManifestProblems(files, cache);
    expect(first).not.toEqual([]);
    const checkers = spied();
    expect(await findManifestProblems(files, cache, checkers)).toEqual(first);
    expect(checkers.quick).not.toHaveBeenCalled();
    expect(checkers.exact).not.toHaveBeenCalled();
  });
});
