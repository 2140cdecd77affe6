import { randomBytes } from 'node:crypto';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { pushTestArtifact } from '../support/push-test-artifact.js';

// Custom-object bodies come back untyped from the client; tests read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const OCI = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'ocirepositories' };
const KS = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' };
const NS = 'flux-system';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const configMap = (name: string, data: Record<string, string>): string =>
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    'data:',
    ...Object.entries(data).map(([key, value]) => `  ${key}: "${value}"`),
  ].join('\n');

const condition = (object: Loose, type: string): Loose =>
  object?.status?.conditions?.find((entry: Loose) => entry.type === type);

let cluster: FakeCluster;
let custom: CustomObjectsApi;
let repository: string;
const endpoint = inject('registryEndpoint');

beforeEach(async () => {
  repository = `fake-cluster/e2e-${randomBytes(4).toString('hex')}`;
  // The cluster sees the registry as local-registry:5000 (as inside kind); the map points it at the test registry.
  cluster = await startFakeCluster({ registryEndpointMap: () => endpoint });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  custom = kc.makeApiClient(CustomObjectsApi);
});
afterEach(async () => {
  await cluster.close();
});

const createSource = async (tag: string): Promise<void> => {
  await custom.createNamespacedCustomObject({
    ...OCI,
    namespace: NS,
    body: {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'app' },
      spec: { url: `oci://local-registry:5000/${repository}`, interval: '10m', ref: { tag }, insecure: true },
    },
  });
};

const createKustomization = async (targetNamespace?: string): Promise<void> => {
  await custom.createNamespacedCustomObject({
    ...KS,
    namespace: NS,
    body: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'app' },
      spec: {
        interval: '10m',
        path: './',
        prune: true,
        sourceRef: { kind: 'OCIRepository', name: 'app' },
        ...(targetNamespace ? { targetNamespace } : {}),
      },
    },
  });
};

const source = (): Loose => cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', NS, 'app');
const kustomization = (): Loose => cluster.get('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', NS, 'app');

describe('fake cluster: emulated Flux controllers', () => {
  it('pulls the artifact, applies it, follows tag changes with pruning and reports pull failures', async () => {
    const push = (tag: string, files: Record<string, string>) =>
      pushTestArtifact({ endpoint, repository, tag, files, urlHost: 'local-registry:5000' });
    const first = await push('1.0.0', { 'demo.yaml': configMap('demo', { greeting: 'hello' }) });
    await createSource('1.0.0');
    await createKustomization('default');

    await vi.waitFor(() => {
      expect(condition(source(), 'Ready')).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
        message: `stored artifact for digest '${first.revision}'`,
        observedGeneration: 1,
      });
    });
    expect(source().status).toMatchObject({
      observedGeneration: 1,
      artifact: { revision: first.revision, digest: first.layerDigest },
    });
    expect(condition(source(), 'ArtifactInStorage')?.status).toBe('True');
    expect(source().metadata.finalizers).toEqual(['finalizers.fluxcd.io']);

    await vi.waitFor(() => {
      expect(condition(kustomization(), 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ReconciliationSucceeded',
        message: `Applied revision: ${first.revision}`,
      });
    });
    expect(kustomization().status).toMatchObject({
      lastAppliedRevision: first.revision,
      lastAttemptedRevision: first.revision,
      observedGeneration: 1,
      inventory: { entries: [{ id: 'default_demo__ConfigMap', v: 'v1' }] },
    });
    const demo: Loose = cluster.get('v1', 'ConfigMap', 'default', 'demo');
    expect(demo.data).toEqual({ greeting: 'hello' });
    expect(demo.metadata.labels).toMatchObject({
      'kustomize.toolkit.fluxcd.io/name': 'app',
      'kustomize.toolkit.fluxcd.io/namespace': NS,
    });
    expect(demo.metadata.managedFields[0]).toMatchObject({
      manager: 'kustomize-controller',
      operation: 'Apply',
      fieldsV1: {
        'f:data': { 'f:greeting': {} },
        'f:metadata': {
          'f:labels': {
            'f:kustomize.toolkit.fluxcd.io/name': {},
            'f:kustomize.toolkit.fluxcd.io/namespace': {},
          },
        },
      },
    });

    // A tag change is a spec change: new generation, new artifact, old objects pruned.
    const second = await push('1.0.1', { 'app/other.yaml': configMap('other', { v: '2' }) });
    await custom.patchNamespacedCustomObject(
      { ...OCI, namespace: NS, name: 'app', body: { spec: { ref: { tag: '1.0.1' } } } },
      merge,
    );
    await vi.waitFor(() => expect(kustomization().status.lastAppliedRevision).toBe(second.revision));
    expect(source().status.observedGeneration).toBe(2);
    expect(cluster.get('v1', 'ConfigMap', 'default', 'other')).toBeDefined();
    expect(cluster.get('v1', 'ConfigMap', 'default', 'demo')).toBeUndefined();

    // A requestedAt token while the registry fails: Ready=False, the old artifact stays.
    cluster.faults.failRegistryFetch(true, 'connection refused');
    const token = new Date().toISOString();
    await custom.patchNamespacedCustomObject(
      {
        ...OCI,
        namespace: NS,
        name: 'app',
        body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': token } } },
      },
      merge,
    );
    await vi.waitFor(() => expect(source().status.lastHandledReconcileAt).toBe(token));
    expect(condition(source(), 'Ready')).toMatchObject({ status: 'False', reason: 'OCIArtifactPullFailed' });
    // source-controller's getRevision fails first: `failed to determine artifact digest: <registry error>`.
    expect(condition(source(), 'Ready').message).toBe(
      'failed to determine artifact digest: connection refused',
    );
    expect(condition(source(), 'FetchFailed')).toMatchObject({
      status: 'True',
      reason: 'OCIArtifactPullFailed',
    });
    expect(source().status.artifact.revision).toBe(second.revision);
    expect(source().metadata.generation).toBe(2);
  });

  it('reports a missing source, an unknown tag and an unsafe tarball the way Flux does', async () => {
    await createKustomization();
    await vi.waitFor(() =>
      expect(condition(kustomization(), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ArtifactFailed',
        // kustomize-controller reports the cache reader's NotFound error as is.
        message: 'OCIRepository.source.toolkit.fluxcd.io "app" not found',
      }),
    );
    await createSource('missing');
    await vi.waitFor(() => expect(condition(source(), 'Ready')?.reason).toBe('OCIArtifactPullFailed'));
    expect(condition(source(), 'Ready').message).toContain('MANIFEST_UNKNOWN');

    await pushTestArtifact({
      endpoint,
      repository,
      tag: 'evil',
      files: { '../escape.yaml': configMap('x', {}) },
    });
    await custom.patchNamespacedCustomObject(
      { ...OCI, namespace: NS, name: 'app', body: { spec: { ref: { tag: 'evil' } } } },
      merge,
    );
    await vi.waitFor(() =>
      expect(condition(source(), 'Ready')).toMatchObject({
        reason: 'OCIArtifactLayerOperationFailed',
        status: 'False',
      }),
    );
    expect(source().status.artifact).toBeUndefined();
  });

  it('prunes inventory objects when a pruning Kustomization is deleted', async () => {
    const pushed = await pushTestArtifact({
      endpoint,
      repository,
      tag: '1.0.0',
      files: {
        'kustomization.yaml': 'resources: [cm.yaml]\nnamespace: default\n',
        'cm.yaml': configMap('kept', {}),
        'ignored.yaml': configMap('ignored', {}),
      },
    });
    await createSource('1.0.0');
    await createKustomization();
    await vi.waitFor(() => expect(kustomization()?.status?.lastAppliedRevision).toBe(pushed.revision));
    expect(cluster.get('v1', 'ConfigMap', 'default', 'kept')).toBeDefined();
    expect(cluster.get('v1', 'ConfigMap', 'default', 'ignored')).toBeUndefined();
    await custom.deleteNamespacedCustomObject({ ...KS, namespace: NS, name: 'app' });
    await vi.waitFor(() => expect(kustomization()).toBeUndefined());
    expect(cluster.get('v1', 'ConfigMap', 'default', 'kept')).toBeUndefined();
  });
});
