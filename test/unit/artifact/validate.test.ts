import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildLayer,
  collectSource,
  createValidationCache,
  findManifestProblems,
  formatProblem,
} from '../../../src/artifact/index.js';
import { locateJsonError } from '../../../src/artifact/json-position.js';
import { isKsailError, type KsailError } from '../../../src/errors.js';
import { configMap, tempDirs, writeTree } from './tree.js';

const dirs = tempDirs();
afterEach(dirs.cleanup);

const NEEDS = 'a Kubernetes manifest needs apiVersion, kind and metadata.name';

const buildError = async (sourceDir: string, ignore?: string[]): Promise<KsailError> => {
  const error = await buildLayer({ sourceDir, ignore }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isKsailError(error)) throw new Error(`expected a KsailError, got ${String(error)}`);
  return error;
};

const failure = async (files: Record<string, string>, ignore?: string[]): Promise<KsailError> => {
  const dir = await dirs.make();
  await writeTree(dir, files);
  return buildError(dir, ignore);
};

const problemLines = async (files: Record<string, string>): Promise<string[]> => {
  const error = await failure(files);
  expect(error.code).toBe('manifest-invalid');
  return error.message.split('\n').slice(1);
};

describe('manifest validation', () => {
  it('reports a YAML syntax error with its line and column', async () => {
    expect(
      await problemLines({
        'app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: 1\n',
      }),
    ).toEqual([
      'app.yaml:5:16 invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('reports a document without kind', async () => {
    expect(await problemLines({ 'app.yaml': 'apiVersion: v1\nmetadata:\n  name: x\n' })).toEqual([
      `app.yaml:1:1 missing kind; ${NEEDS}`,
    ]);
  });

  it('reports a document without metadata.name at its metadata, in the right document', async () => {
    const text = `${configMap('first')}---\n# second\napiVersion: v1\nkind: Secret\nmetadata:\n  namespace: x\n---\n`;
    expect(await problemLines({ 'apps/app.yaml': text })).toEqual([
      `apps/app.yaml:13:3 missing metadata.name; ${NEEDS}`,
    ]);
  });

  it('reports kustomization resources that are not in the artifact, and accepts remote ones', async () => {
    const kustomization = [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      '  - app.yaml',
      '  - ./base/',
      '  - missing.yaml',
      '  - ../../outside.yaml',
      '  - draft.yaml',
      '  - https://github.com/org/repo//deploy?ref=v1.0.0',
      '  - github.com/org/repo/deploy?ref=main',
      '  - git@github.com:org/repo.git//deploy',
      '',
    ].join('\n');
    const error = await failure(
      {
        'apps/kustomization.yaml': kustomization,
        'apps/app.yaml': configMap('app'),
        'apps/base/kustomization.yml': 'resources: []\n',
        'apps/draft.yaml': configMap('draft'),
      },
      ['draft.yaml'],
    );
    expect(error.message.split('\n').slice(1)).toEqual([
      'apps/kustomization.yaml:6:5 resource "missing.yaml" does not exist (looked for apps/missing.yaml); create it or remove it from resources',
      'apps/kustomization.yaml:7:5 resource "../../outside.yaml" points outside the source directory, which the artifact does not contain; move it into the source or use a remote URL',
      'apps/kustomization.yaml:8:5 resource "draft.yaml" is excluded by ignore rules (draft.yaml in sources[].ignore); stop ignoring it or remove it from resources',
    ]);
  });

  it('lists every problem under one header and puts them in details.problems', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      'a.yaml': 'kind: ConfigMap\nmetadata:\n  name: a\n',
      'b/broken.yaml': 'key: "unterminated\nother: 1\n',
      'b/list.yaml': '- one\n- two\n',
      'c.json': '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n}\n',
      'd.json': '{"apiVersion": "v1", "metadata": {"name": "d"}}',
      // Listed, so Flux applies (and judges) each of them: JSON too, as kustomize reads any file it is given.
      'kustomization.yaml':
        'resources:\n  - a.yaml\n  - b/broken.yaml\n  - b/list.yaml\n  - c.json\n  - d.json\n  - gone/\n',
    });
    const error = await buildError(dir);
    expect(error.code).toBe('manifest-invalid');
    expect(error.message).toBe(
      [
        `source ${dir} has 6 invalid manifests; fix them and save again:`,
        `a.yaml:1:1 missing apiVersion; ${NEEDS}`,
        // yaml reports an unterminated quote where the scalar ends: at the end of the file.
        'b/broken.yaml:2:9 invalid YAML: Missing closing "quote',
        `b/list.yaml:1:1 document is a sequence, not a mapping; ${NEEDS}`,
        'c.json:4:1 invalid JSON: unexpected "}", expected a "quoted" key',
        `d.json:1:1 missing kind; ${NEEDS}`,
        'kustomization.yaml:7:5 resource "gone/" does not exist; create it or remove it from resources',
      ].join('\n'),
    );
    expect(error.details.problems).toEqual([
      { file: 'a.yaml', line: 1, column: 1, message: `missing apiVersion; ${NEEDS}` },
      expect.objectContaining({ file: 'b/broken.yaml', line: 2, column: 9 }),
      expect.objectContaining({ file: 'b/list.yaml', line: 1, column: 1 }),
      expect.objectContaining({ file: 'c.json', line: 4, column: 1 }),
      expect.objectContaining({ file: 'd.json', line: 1, column: 1 }),
      expect.objectContaining({ file: 'kustomization.yaml', line: 7, column: 5 }),
    ]);
  });

  it('accepts empty documents, Lists, kustomizations without names, patches and generator data', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      'app.yaml': `---\n${configMap('app')}---\n# only a comment\n---\n`,
      'empty.yaml': '',
      'list.yaml': 'apiVersion: v1\nkind: List\nitems: []\n',
      'app.json': '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j", "namespace": "a"}}',
      'kustomization.yaml': [
        'resources: [app.yaml, list.yaml, app.json, base]',
        'patches:',
        '  - path: patch.yaml',
        '    target: {kind: ConfigMap}',
        'configMapGenerator:',
        '  - name: settings',
        '    files: [settings=settings.yaml]',
        '',
      ].join('\n'),
      'patch.yaml': '- op: add\n  path: /data/x\n  value: y\n',
      'settings.yaml': 'not: [valid yaml\n',
      'base/Kustomization': 'resources: []\n',
      'notes.txt': 'not checked: [',
    });
    await expect(buildLayer({ sourceDir: dir })).resolves.toMatchObject({ fileCount: 9 });
  });

  it('reuses results for unchanged files and forgets removed ones', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'a.yaml': configMap('a'), 'b.yaml': 'kind: X\n' });
    const cache = createValidationCache();
    const first = await findManifestProblems(await collectSource({ sourceDir: dir }), cache);
    expect(first.map(formatProblem)).toEqual([
      `b.yaml:1:1 missing apiVersion; ${NEEDS}`,
      `b.yaml:1:1 missing metadata.name; ${NEEDS}`,
    ]);
    expect(cache.size).toBe(2);
    await writeTree(dir, { 'b.yaml': configMap('b') });
    expect(await findManifestProblems(await collectSource({ sourceDir: dir }), cache)).toEqual([]);
    await writeTree(dir, { 'b.yaml': 'kind: X\n' });
    expect(await findManifestProblems(await collectSource({ sourceDir: dir }), cache)).toEqual(first);
  });
});

describe('source errors', () => {
  it('says which patterns excluded everything', async () => {
    const error = await failure(
      {
        '.sourceignore': 'apps/\n',
        'apps/a.yaml': configMap('a'),
        'logo.png': 'x',
        'b.yaml': configMap('b'),
      },
      ['*.yaml'],
    );
    expect(error.code).toBe('source-empty');
    expect(error.message).toMatch(/has no files to package after the ignore rules/);
    expect(error.message).toContain(
      '"apps/" (.sourceignore), "*.yaml" (sources[].ignore), "*.png" (Flux default)',
    );
  });

  it('treats a source with only directories as empty', async () => {
    const dir = await dirs.make();
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    const error = await buildError(dir);
    expect(error.code).toBe('source-empty');
    expect(error.message).toBe(`source ${dir} has no files to package; add manifests to it`);
  });

  it('names the missing directory and the config key', async () => {
    const dir = join(await dirs.make(), 'nope');
    const error = await buildError(dir);
    expect(error.code).toBe('source-not-found');
    expect(error.message).toBe(
      `source directory ${dir} does not exist; create it or fix sources[].path in the config`,
    );
  });
});

describe('locateJsonError', () => {
  it.each([
    ['{"a": 1,}', 8, 'unexpected "}", expected a "quoted" key'],
    ['{"a" 1}', 5, 'unexpected "1", expected ":"'],
    ['[1, 2', 5, 'unexpected end of input, expected "," or "]"'],
    ['{"a": tru}', 6, 'unexpected "t", expected a value'],
    ['"tab\there"', 4, 'control character in string; escape it'],
    ['{} x', 3, 'unexpected "x" after the JSON value'],
  ])('%s', (text, offset, message) => {
    expect(locateJsonError(text)).toEqual({ offset, message });
  });

  it('finds nothing in valid JSON', () => {
    expect(locateJsonError('{"a": [1, -2.5e3, true, null, "x\\u00e9"]}')).toBeUndefined();
  });
});

describe('unreadable files', () => {
  it.skipIf(process.getuid?.() === 0)('names the file and what to do', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    await chmod(join(dir, 'app.yaml'), 0o000);
    const error = await buildError(dir);
    expect(error.code).toBe('source-unreadable');
    expect(error.message).toBe(
      `cannot read ${join(dir, 'app.yaml')} (EACCES); fix its permissions or add it to the source's ignore patterns`,
    );
  });
});
