import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWithOrigins, loadEffectiveConfig } from '../../../src/config/effective.js';
import { ksailNetwork, parseKsailYaml, parseRegistryRef } from '../../../src/config/ksail-yaml.js';
import { KsailError } from '../../../src/errors.js';
import { rejectionOf } from '../../support/rejection.js';
import { runKsail } from '../../support/run-cli.js';
import { tempDirs } from '../../support/temp-dirs.js';

const dirs = tempDirs('ksail-yaml-');
afterEach(() => dirs.cleanup());

const project = async (files: Record<string, string>): Promise<string> => {
  const dir = await dirs.make();
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  return dir;
};

const V7 = `apiVersion: ksail.io/v1alpha1
kind: Cluster
metadata:
  name: my-cluster
spec:
  cluster:
    distribution: Vanilla
    distributionConfig: kind.yaml
    gitOpsEngine: Flux
  workload:
    sourceDirectory: manifests
  connection:
    kubeconfig: ~/.kube/config
    context: kind-my-cluster
`;

const V2 = `apiVersion: ksail.dev/v1alpha1
kind: Cluster
spec:
  distribution: Kind
  sourceDirectory: k8s
  gitOpsEngine: Flux
  localRegistry: Enabled
  options:
    localRegistry:
      hostPort: 5111
    flux:
      interval: 2m
`;

describe('ksail.yaml beside no ksail-fluxd.yaml', () => {
  it('reads KSail v7: KSail’s registry container, port and volume, its network, connection and source directory', async () => {
    const dir = await project({ 'ksail.yaml': V7 });
    const config = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      file: undefined,
      baseDir: dir,
      gitOpsEngine: 'Flux',
      registryPort: 5050,
      registry: { name: 'my-cluster-local-registry', volumeName: 'local-registry' },
      cluster: { network: 'kind', kubeconfig: '~/.kube/config', context: 'kind-my-cluster' },
    });
    expect(config.sources).toMatchObject([
      { name: 'manifests', path: 'manifests', absolutePath: join(dir, 'manifests') },
    ]);
  });

  it('reads KSail-Go v2: the local-registry container on its host port, and the Flux interval', async () => {
    const dir = await project({ 'ksail.yaml': V2 });
    const config = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      gitOpsEngine: 'Flux',
      registryPort: 5111,
      fluxInterval: '2m',
      registry: { name: 'local-registry' },
      cluster: { network: 'kind' },
    });
    expect(config.sources.map((source) => source.path)).toEqual(['k8s']);
  });

  it('applies KSail v7 defaults: source directory k8s; no engine means no registry of KSail and no Flux', async () => {
    const dir = await project({
      'ksail.yaml': 'apiVersion: ksail.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: c\n',
    });
    const config = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      gitOpsEngine: 'Kubectl',
      registryPort: 5000,
      registry: { name: 'local-registry' },
    });
    expect(config.cluster.network).toBeUndefined();
    expect(config.sources.map((source) => source.path)).toEqual(['k8s']);
  });

  it('names the Docker network per distribution as KSail does', () => {
    expect(
      ['Vanilla', 'K3s', 'Talos', 'VCluster', 'KWOK', 'EKS', 'Kind', 'K3d'].map((d) =>
        ksailNetwork(d, 'dev'),
      ),
    ).toEqual(['kind', 'k3d-dev', 'dev', 'vcluster.dev', 'kwok-dev', undefined, 'kind', 'k3d-dev']);
  });

  it('parses [user:pass@]host[:port][/path] and never shows the password', async () => {
    expect(parseRegistryRef('bob:s3cret@localhost:5055/team', 'r')).toEqual({
      host: 'localhost',
      port: 5055,
      path: 'team',
      hasCredentials: true,
      display: 'bob:***@localhost:5055/team',
    });
    const bad = await rejectionOf(
      Promise.resolve().then(() => parseRegistryRef('bob:s3cret@localhost:99999', 'registry')),
      KsailError,
    );
    expect(bad.message).toContain('bob:***@localhost:99999');
    expect(bad.message).not.toContain('s3cret');

    const dir = await project({
      'ksail.yaml': V7.replace(
        'gitOpsEngine: Flux',
        'gitOpsEngine: Flux\n    localRegistry:\n      registry: bob:s3cret@localhost:5055/team',
      ),
    });
    for (const args of [['config'], ['config', '--json']]) {
      const result = await runKsail(args, { cwd: dir, env: { KSAIL_FLUXD_LOG_LEVEL: 'debug' } });
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toContain('s3cret');
      expect(result.stdout).toContain('bob:***@localhost:5055/team');
    }
    const config = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({ registryPort: 5055, project: 'team' });
    expect(JSON.stringify(config)).not.toContain('s3cret');
  });

  it('refuses gitOpsEngine: ArgoCD, saying that ksail-fluxd drives Flux only', async () => {
    const dir = await project({ 'ksail.yaml': V7.replace('gitOpsEngine: Flux', 'gitOpsEngine: ArgoCD') });
    const result = await runKsail(['config'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ArgoCD');
    expect(result.stderr).toContain('Flux only');
  });

  it('refuses a registry that is not on this machine, and an unknown apiVersion', async () => {
    const remote = await project({
      'ksail.yaml': V7.replace(
        'gitOpsEngine: Flux',
        'gitOpsEngine: Flux\n    localRegistry:\n      registry: ghcr.io/me',
      ),
    });
    const error = await rejectionOf(loadEffectiveConfig({ cwd: remote, env: {} }), KsailError);
    expect(error.message).toMatch(/ghcr\.io\/me is not on this machine/);
    expect(() => parseKsailYaml('ksail.yaml', { apiVersion: 'ksail.io/v9', kind: 'Cluster' })).toThrow(
      /ksail\.io\/v1alpha1/,
    );
  });

  it('lets an explicit ksail-fluxd.yaml win over ksail.yaml', async () => {
    const dir = await project({
      'ksail.yaml': V7,
      'ksail-fluxd.yaml': 'registryPort: 5999\nsources:\n  - name: app\n    path: ./app\n',
    });
    const config = await loadEffectiveConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({ registryPort: 5999, registry: { name: 'local-registry' } });
    expect(config.sources.map((source) => source.name)).toEqual(['app']);
  });
});

describe('ksail-fluxd config', () => {
  it('names the source of each value: default, ksail.yaml, environment, flag', async () => {
    const dir = await project({ 'ksail.yaml': V7 });
    const { origins } = await loadWithOrigins({
      cwd: dir,
      env: { KSAIL_FLUXD_MODE: 'manual' },
      overrides: { 'log.level': 'debug', 'log.format': undefined },
    });
    expect(Object.fromEntries(origins)).toMatchObject({
      registryPort: 'ksail.yaml',
      'registry.name': 'ksail.yaml',
      'sources[0].path': 'ksail.yaml',
      'sources[0].bump': 'default',
      'flux.mode': 'environment',
      'log.level': 'flag',
      'log.format': 'default',
      'flux.namespace': 'default',
    });

    const result = await runKsail(['config', '--json'], { cwd: dir, env: { KSAIL_FLUXD_MODE: 'manual' } });
    const json = JSON.parse(result.stdout);
    expect(json.ksail).toMatchObject({ shape: 'KSail v7', name: 'my-cluster', registry: 'localhost:5050' });
    expect(json.values).toContainEqual({ key: 'flux.mode', value: 'Manual', origin: 'environment' });
    expect(json.values).toContainEqual({ key: 'registryPort', value: 5050, origin: 'ksail.yaml' });
  });

  it('shows values of our file as coming from the file', async () => {
    const dir = await project({ 'ksail-fluxd.yaml': 'registryPort: 5999\n' });
    const result = await runKsail(['config'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`config file: ${join(dir, 'ksail-fluxd.yaml')}`);
    expect(result.stdout).toMatch(/registryPort\s+5999\s+file/);
    expect(result.stdout).toMatch(/registry\.name\s+"local-registry"\s+default/);
  });
});
