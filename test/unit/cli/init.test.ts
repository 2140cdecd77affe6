import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEffectiveConfig } from '../../../src/config/effective.js';
import { configJsonSchema } from '../../../src/config/json-schema.js';
import { runKsail } from '../../support/run-cli.js';
import { tempDirs } from '../../support/temp-dirs.js';
import { validateSchema } from '../flux/json-schema-subset.js';

const dirs = tempDirs('ksail-fluxd-init-');
afterEach(() => dirs.cleanup());

const project = async (files: Record<string, string>): Promise<string> => {
  const dir = await dirs.make();
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
};

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';

describe('ksail-fluxd init', () => {
  it('writes a commented config with one source per directory of manifests, which loads and validates', async () => {
    const dir = await project({
      'k8s/app/configmap.yaml': CONFIGMAP,
      'k8s/app/nested/more.yaml': CONFIGMAP,
      'k8s/infra/kustomization.yaml': 'resources: []\n',
      'other/infra/deploy.yml': CONFIGMAP,
      'docs/notes.yaml': 'title: not a manifest\n',
      'node_modules/pkg/manifest.yaml': CONFIGMAP,
    });
    const result = await runKsail(['init'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('with the sources app, k8s-infra, other-infra');
    const text = await readFile(join(dir, 'ksail-fluxd.yaml'), 'utf8');
    const [first] = text.split('\n');
    expect(first).toMatch(/^# yaml-language-server: \$schema=(.+)$/);
    // The schema it points at exists, relative to the written file.
    const schemaPath = resolve(dir, first!.split('$schema=')[1]!);
    expect(JSON.parse(await readFile(schemaPath, 'utf8'))).toEqual(configJsonSchema());
    expect(validateSchema(configJsonSchema(), parse(text))).toEqual([]);
    const config = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(config.sources.map((source) => [source.name, source.path])).toEqual([
      ['app', './k8s/app'],
      ['k8s-infra', './k8s/infra'],
      ['other-infra', './other/infra'],
    ]);
  });

  it('never overwrites without --force', async () => {
    const dir = await project({ 'ksail-fluxd.yaml': 'registryPort: 5999\n', 'k8s/a.yaml': CONFIGMAP });
    const refused = await runKsail(['init'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists already; pass --force');
    expect(await readFile(join(dir, 'ksail-fluxd.yaml'), 'utf8')).toBe('registryPort: 5999\n');
    const forced = await runKsail(['init', '--force'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(dir, 'ksail-fluxd.yaml'), 'utf8')).toContain('path: ./k8s');
  });

  it('writes the values of ksail.yaml, so that the file loads to the same config', async () => {
    const ksail = [
      'apiVersion: ksail.io/v1alpha1',
      'kind: Cluster',
      'metadata:',
      '  name: dev',
      'spec:',
      '  cluster:',
      '    distribution: K3s',
      '    gitOpsEngine: Flux',
      '  connection:',
      '    kubeconfig: ~/.kube/config',
      '    context: k3d-dev',
      '',
    ].join('\n');
    const dir = await project({ 'ksail.yaml': ksail, 'k8s/a.yaml': CONFIGMAP });
    const before = await loadEffectiveConfig({ cwd: dir, env: {} });
    const result = await runKsail(['init'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('from ');
    const after = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(after.file).toBe(join(dir, 'ksail-fluxd.yaml'));
    const { file: _a, ...beforeValues } = before;
    const { file: _b, ...afterValues } = after;
    expect(afterValues).toEqual(beforeValues);
    expect(after).toMatchObject({ registryPort: 5050, registry: { name: 'dev-local-registry' } });
  });
});
