import { afterEach, describe, expect, it } from 'vitest';
import { buildLayer, checkManifests, formatProblem } from '../../../src/artifact/index.js';
import { systemClock } from '../../../src/clock.js';
import { isKsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { publishSource } from '../../../src/publish/publish-source.js';
import { resolvedSource } from '../../support/resolved-source.js';
import { configMap, memoryInput, tempDirs, writeTree } from './tree.js';

/*
 * Validation judges what Flux applies (fluxcd/pkg/kustomize, kustomize_generator.go): the kustomization at spec.path,
 * or the one scanManifests generates there, and nothing else.
 */

const dirs = tempDirs();
afterEach(dirs.cleanup);

const NEEDS = 'a Kubernetes manifest needs apiVersion, kind and metadata.name';
const BROKEN = 'apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n';
const JSON_CONFIG_MAP = JSON.stringify({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'json', namespace: 'default' },
});
const SKIPPED_JSON = (path: string): string =>
  `${path} is not applied: Flux's generated kustomization takes only .yaml and .yml files; rename it to .yaml or list it in a kustomization.yaml`;

const check = (files: Record<string, string>, kustomizationPath?: string) =>
  checkManifests(memoryInput(files, { kustomizationPath }));

const problemLines = async (files: Record<string, string>, kustomizationPath?: string): Promise<string[]> =>
  (await check(files, kustomizationPath)).problems.map(formatProblem);

describe('generated kustomization (no kustomization file at spec.path)', () => {
  it('warns about a .json manifest, which Flux skips, and does not block', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app'), 'apps/configmap.json': JSON_CONFIG_MAP });
    const built = await buildLayer({ sourceDir: dir });
    expect(built.files).toContain('apps/configmap.json');
    expect(built.warnings).toEqual([SKIPPED_JSON('apps/configmap.json')]);
  });

  it('neither blocks nor warns about .json that is not a manifest, valid or not', async () => {
    const result = await check({
      'app.yaml': configMap('app'),
      'package.json': '{"name": "tools", "version": "1.0.0"}',
      'dashboards/grafana.json': '{"title": "CPU", "panels": []}',
      'broken.json': '{"apiVersion": "v1", "kind": ',
      'list.json': '[{"apiVersion": "v1", "kind": "ConfigMap"}]',
    });
    expect(result).toEqual({ problems: [], warnings: [] });
  });

  it('takes only files ending in .yaml or .yml, exactly: other files are not judged', async () => {
    expect(
      await problemLines({
        'a.yml': 'kind: ConfigMap\n',
        'b.yaml': configMap('b'),
        'upper.YAML': BROKEN,
        'notes.txt': 'not: [yaml',
        'values.yaml.tmpl': BROKEN,
      }),
    ).toEqual([`a.yml:1:1 missing apiVersion; ${NEEDS}`, `a.yml:1:1 missing metadata.name; ${NEEDS}`]);
  });

  it('still reports YAML that is not a Kubernetes object, which fails the build of the generated kustomization', async () => {
    expect(await problemLines({ 'nested/values.yaml': 'replicas: 2\n' })).toEqual([
      `nested/values.yaml:1:1 missing apiVersion; ${NEEDS}`,
      `nested/values.yaml:1:1 missing kind; ${NEEDS}`,
      `nested/values.yaml:1:1 missing metadata.name; ${NEEDS}`,
    ]);
  });

  it('builds a subdirectory with its own kustomization as one unit: only what it lists is judged', async () => {
    const files = {
      'top.yaml': configMap('top'),
      'app/kustomization.yaml': 'resources: [listed.yaml]\n',
      'app/listed.yaml': configMap('listed'),
      'app/unlisted.yaml': BROKEN,
      'app/deeper/also-unlisted.yaml': BROKEN,
      'app/deeper/kustomization.yaml': 'resources: [missing.yaml]\n',
      'plain/deeper/c.yaml': configMap('c'),
    };
    expect(await problemLines(files)).toEqual([]);
    expect(await problemLines({ ...files, 'app/listed.yaml': BROKEN })).toEqual([
      'app/listed.yaml:3:16 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    // A unit's .json files are its kustomization's business: no warning.
    expect((await check({ ...files, 'app/extra.json': JSON_CONFIG_MAP })).warnings).toEqual([]);
  });

  it('does not warn about a .json manifest that a kustomization lists, and judges it', async () => {
    const result = await check({
      'app/kustomization.yaml': 'resources: [configmap.json]\n',
      'app/configmap.json': '{"apiVersion": "v1", "kind": "ConfigMap"}',
    });
    expect(result.warnings).toEqual([]);
    expect(result.problems.map(formatProblem)).toEqual([
      `app/configmap.json:1:1 missing metadata.name; ${NEEDS}`,
    ]);
  });
});

describe('kustomization file at spec.path', () => {
  it('judges only what it lists (recursively), plus the YAML it references as patches', async () => {
    const files = {
      'kustomization.yaml': 'resources: [app.yaml]\nbases: [base]\npatches:\n  - path: patch.yaml\n',
      'app.yaml': configMap('app'),
      'patch.yaml': '- op: add\n  path: /data/x\n  value: y\n',
      'base/kustomization.yml': 'resources: [../shared/cm.yaml]\n',
      'shared/cm.yaml': configMap('shared'),
      'unlisted.yaml': BROKEN,
      'unlisted.json': '{"apiVersion": ',
      'other/kustomization.yaml': 'resources: [gone.yaml]\n',
    };
    expect(await check(files)).toEqual({ problems: [], warnings: [] });
    expect(
      await problemLines({ ...files, 'patch.yaml': 'op: [add\n', 'shared/cm.yaml': 'kind: ConfigMap\n' }),
    ).toEqual([
      'patch.yaml:1:9 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      `shared/cm.yaml:1:1 missing apiVersion; ${NEEDS}`,
      `shared/cm.yaml:1:1 missing metadata.name; ${NEEDS}`,
    ]);
  });

  it('reports a resources directory without a kustomization file, which kustomize cannot build', async () => {
    expect(
      await problemLines({
        'kustomization.yaml': 'resources:\n  - plain/\n',
        'plain/cm.yaml': configMap('cm'),
      }),
    ).toEqual([
      'kustomization.yaml:2:5 resource "plain/" is a directory without a kustomization.yaml, which kustomize cannot build; add a kustomization.yaml listing its files, or list the files instead',
    ]);
  });
});

describe('kustomizationPath', () => {
  const files = {
    'clusters/dev/app.yaml': configMap('dev'),
    'clusters/prod/kustomization.yaml': 'resources: [missing.yaml]\n',
    'tools/broken.json': '{"a": 1,}',
    'tools/values.yaml': 'not: [a manifest\n',
    'README.yaml': 'title: not a manifest\n',
  };

  it('judges only the Kustomization path: files outside it are not applied', async () => {
    expect(await check(files, './clusters/dev')).toEqual({ problems: [], warnings: [] });
    expect(await problemLines({ ...files, 'clusters/dev/app.yaml': 'kind: X\n' }, 'clusters/dev/')).toEqual([
      `clusters/dev/app.yaml:1:1 missing apiVersion; ${NEEDS}`,
      `clusters/dev/app.yaml:1:1 missing metadata.name; ${NEEDS}`,
    ]);
    expect(await problemLines(files, './clusters/prod')).toEqual([
      'clusters/prod/kustomization.yaml:1:13 resource "missing.yaml" does not exist (looked for clusters/prod/missing.yaml); create it or remove it from resources',
    ]);
  });

  it('reports a Kustomization path that is not a directory of the artifact', async () => {
    expect(await problemLines(files, './clusters/staging')).toEqual([
      'clusters/staging:1:1 kustomizationPath "./clusters/staging" is not a directory in the artifact, so Flux fails with "kustomization path not found"; create the directory or fix sources[].kustomizationPath',
    ]);
  });
});

describe('publishSource', () => {
  it("validates what the source's Flux Kustomization applies, and returns the warnings", async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      'deploy/app.yaml': configMap('app', null),
      'deploy/extra.json': JSON_CONFIG_MAP,
      'scratch/broken.yaml': BROKEN,
    });
    const publish = (overrides: Parameters<typeof resolvedSource>[1]) =>
      publishSource({
        source: resolvedSource(dir, overrides),
        client: undefined,
        request: { dryRun: true },
        clock: systemClock,
        logger: createSilentLogger(),
      });
    const result = await publish({ kustomizationPath: './deploy', targetNamespace: 'apps' });
    expect(result.outcome).toBe('dry-run');
    expect(result.warnings).toEqual([SKIPPED_JSON('deploy/extra.json')]);

    const error: unknown = await publish({ kustomizationPath: './deploy' }).catch(
      (caught: unknown) => caught,
    );
    expect(isKsailError(error, 'manifest-invalid')).toBe(true);
    expect((error as Error).message).toContain(
      'deploy/app.yaml:4:3 ConfigMap/app has no namespace and source "app" sets no targetNamespace',
    );
  });
});
