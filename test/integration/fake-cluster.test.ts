import {
  ApiException,
  ApiextensionsV1Api,
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { rejectionOf } from '../support/rejection.js';

// Custom-object bodies come back untyped from the client; tests read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const OCI = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'ocirepositories' };
const ociRepository = (name: string, extra: Record<string, unknown> = {}): Loose => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name, namespace: 'flux-system' },
  spec: { url: 'oci://localhost:5000/demo', interval: '1m', ref: { tag: '1.0.0' }, ...extra },
});

/** The ApiException a client call rejected with; fails the test when it resolved or threw something else. */
const rejection = (promise: Promise<unknown>): Promise<ApiException<unknown>> =>
  rejectionOf(promise, ApiException);

/** Status body of an ApiException: typed APIs deserialize it, KubernetesObjectApi leaves text. */
const statusOf = (error: ApiException<unknown>): Record<string, Loose> =>
  typeof error.body === 'string' ? JSON.parse(error.body) : (error.body as Record<string, Loose>);

let cluster: FakeCluster;
let kc: KubeConfig;

beforeEach(async () => {
  cluster = await startFakeCluster({ controllers: false });
  kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
});
afterEach(async () => {
  await cluster.close();
});

describe('fake cluster: discovery', () => {
  it('serves versions, groups, resources and the Flux CRDs', async () => {
    expect(kc.getCurrentContext()).toBe(cluster.contextName);
    expect((await kc.makeApiClient(VersionApi).getCode()).major).toBe('1');
    const groups = await kc.makeApiClient(ApisApi).getAPIVersions();
    const names = groups.groups.map((group) => group.name);
    expect(names).toEqual(
      expect.arrayContaining(['apps', 'apiextensions.k8s.io', OCI.group, 'kustomize.toolkit.fluxcd.io']),
    );
    const crd = await kc
      .makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: 'ocirepositories.source.toolkit.fluxcd.io' });
    expect(crd.spec.versions.find((version) => version.name === 'v1')?.served).toBe(true);
    expect(crd.status?.conditions?.find((condition) => condition.type === 'Established')?.status).toBe(
      'True',
    );
    // KubernetesObjectApi resolves kinds to paths through discovery.
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const listed = await objects.list('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'flux-system');
    expect(listed.items).toEqual([]);
  });

  it('404s Flux paths until Flux is installed', async () => {
    const bare = await startFakeCluster({ flux: false, controllers: false });
    try {
      const client = new KubeConfig();
      client.loadFromFile(bare.kubeconfigPath);
      const custom = client.makeApiClient(CustomObjectsApi);
      const error = await rejection(custom.listNamespacedCustomObject({ ...OCI, namespace: 'default' }));
      expect(error.code).toBe(404);
      const crds = client.makeApiClient(ApiextensionsV1Api);
      expect(
        (await rejection(crds.readCustomResourceDefinition({ name: `${OCI.plural}.${OCI.group}` }))).code,
      ).toBe(404);
      bare.installFlux();
      const list = await custom.listNamespacedCustomObject({ ...OCI, namespace: 'flux-system' });
      expect(list.items).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it('falls back to minimal Flux CRDs that still validate url and interval', async () => {
    const minimal = await startFakeCluster({ controllers: false, fluxCrdDir: '/nonexistent' });
    try {
      const client = new KubeConfig();
      client.loadFromFile(minimal.kubeconfigPath);
      const custom = client.makeApiClient(CustomObjectsApi);
      const bad = ociRepository('bad', { url: 'https://x/y', interval: '1 minute' });
      const error = await rejection(
        custom.createNamespacedCustomObject({ ...OCI, namespace: 'flux-system', body: bad }),
      );
      expect(statusOf(error)).toMatchObject({ code: 422, reason: 'Invalid' });
      const good = await custom.createNamespacedCustomObject({
        ...OCI,
        namespace: 'flux-system',
        body: ociRepository('ok'),
      });
      expect(good.spec.timeout).toBe('60s');
    } finally {
      await minimal.close();
    }
  });
});

describe('fake cluster: core semantics', () => {
  it('creates, gets, lists by label and deletes a ConfigMap', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'demo', labels: { app: 'x' } }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.generation).toBeUndefined();
    expect((await core.readNamespacedConfigMap({ name: 'demo', namespace: 'default' })).data).toEqual({
      a: '1',
    });
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=x' });
    expect(list.items.map((item) => item.metadata?.name)).toEqual(['demo']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(
      Number(created.metadata?.resourceVersion),
    );
    expect(
      (await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=y' })).items,
    ).toEqual([]);
    const again = await rejection(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'demo' } } }),
    );
    expect(statusOf(again)).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    await core.deleteNamespacedConfigMap({ name: 'demo', namespace: 'default' });
    const gone = await rejection(core.readNamespacedConfigMap({ name: 'demo', namespace: 'default' }));
    expect(statusOf(gone)).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'configmaps "demo" not found',
    });
  });

  it('rejects a stale resourceVersion with 409 Conflict', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const first = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'cas' } },
    });
    await core.replaceNamespacedConfigMap({
      name: 'cas',
      namespace: 'default',
      body: { ...first, data: { v: '1' } },
    });
    const error = await rejection(
      core.replaceNamespacedConfigMap({
        name: 'cas',
        namespace: 'default',
        body: { ...first, data: { v: '2' } },
      }),
    );
    expect(statusOf(error)).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(statusOf(error)['message']).toContain('the object has been modified');
  });

  it('bumps generation only on spec changes and isolates the status subresource', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const target = { ...OCI, namespace: 'flux-system', name: 'gen' };
    const created = await custom.createNamespacedCustomObject({
      ...OCI,
      namespace: 'flux-system',
      body: ociRepository('gen'),
    });
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toEqual({ observedGeneration: -1 });
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const annotated = await custom.patchNamespacedCustomObject(
      { ...target, body: { metadata: { annotations: { a: '1' } }, status: { observedGeneration: 7 } } },
      merge,
    );
    expect(annotated.metadata.generation).toBe(1);
    expect(annotated.status).toEqual({ observedGeneration: -1 });
    const status = await custom.patchNamespacedCustomObjectStatus(
      { ...target, body: { spec: { url: 'oci://elsewhere/x' }, status: { observedGeneration: 1 } } },
      merge,
    );
    expect(status.metadata.generation).toBe(1);
    expect(status.spec.url).toBe('oci://localhost:5000/demo');
    expect(status.status.observedGeneration).toBe(1);
    const retagged = await custom.patchNamespacedCustomObject(
      { ...target, body: { spec: { ref: { tag: '1.0.1' } } } },
      merge,
    );
    expect(retagged.metadata.generation).toBe(2);
    expect(retagged.metadata.annotations).toEqual({ a: '1' });
  });

  it('applies merge patches and JSON patches', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const target = { ...OCI, namespace: 'flux-system', name: 'patchy' };
    await custom.createNamespacedCustomObject({
      ...OCI,
      namespace: 'flux-system',
      body: ociRepository('patchy'),
    });
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await custom.patchNamespacedCustomObject(
      { ...target, body: { metadata: { annotations: { a: '1' } } } },
      merge,
    );
    const merged = await custom.patchNamespacedCustomObject(
      { ...target, body: { metadata: { annotations: { b: '2' } }, spec: { ref: { tag: '2.0.0' } } } },
      merge,
    );
    expect(merged.metadata.annotations).toEqual({ a: '1', b: '2' });
    const patched = await custom.patchNamespacedCustomObject({
      ...target,
      body: [
        { op: 'test', path: '/spec/ref/tag', value: '2.0.0' },
        { op: 'replace', path: '/spec/ref/tag', value: '3.0.0' },
        { op: 'remove', path: '/metadata/annotations/a' },
        { op: 'add', path: '/metadata/labels', value: { l: 'v' } },
      ],
    });
    expect(patched.spec.ref.tag).toBe('3.0.0');
    expect(patched.metadata.annotations).toEqual({ b: '2' });
    const failed = await rejection(
      custom.patchNamespacedCustomObject({
        ...target,
        body: [{ op: 'test', path: '/spec/ref/tag', value: 'nope' }],
      }),
    );
    expect(statusOf(failed)).toMatchObject({ code: 422, reason: 'Invalid' });
    const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    const unsupported = await rejection(
      custom.patchNamespacedCustomObject({ ...target, body: {} }, strategic),
    );
    expect(statusOf(unsupported)).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
  });
});

describe('fake cluster: server-side apply', () => {
  it('creates, no-ops, tracks field ownership and reports conflicts', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const apply = (body: object, force?: boolean): Promise<Loose> =>
      objects.patch(body as Loose, undefined, undefined, 'ksail-fluxd', force, PatchStrategy.ServerSideApply);
    const desired = ociRepository('ssa', { insecure: true });
    const created = await apply(desired);
    expect(created.metadata?.managedFields?.[0]).toMatchObject({
      manager: 'ksail-fluxd',
      operation: 'Apply',
      fieldsV1: { 'f:spec': { 'f:ref': { 'f:tag': {} }, 'f:url': {}, 'f:interval': {}, 'f:insecure': {} } },
    });
    const again = await apply(desired);
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const custom = kc.makeApiClient(CustomObjectsApi);
    const byOther = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await custom.patchNamespacedCustomObject(
      {
        ...OCI,
        namespace: 'flux-system',
        name: 'ssa',
        fieldManager: 'other',
        body: { spec: { suspend: true } },
      },
      byOther,
    );
    const { insecure: _dropped, ...withoutInsecure } = desired.spec;
    const reapplied = await apply({ ...desired, spec: withoutInsecure });
    expect(reapplied.spec.suspend).toBe(true);
    expect(reapplied.spec.insecure).toBeUndefined();
    expect(
      reapplied.metadata.managedFields.map((entry: Loose) => `${entry.manager}/${entry.operation}`),
    ).toEqual(['ksail-fluxd/Apply', 'other/Update']);

    const conflict = await rejection(apply({ ...desired, spec: { ...withoutInsecure, suspend: false } }));
    expect(statusOf(conflict)).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(statusOf(conflict)['message']).toContain('conflict with "other"');
    expect(statusOf(conflict)['message']).toContain('.spec.suspend');
    const forced = await apply({ ...desired, spec: { ...withoutInsecure, suspend: false } }, true);
    expect(forced.spec.suspend).toBe(false);

    const noManager = await rejection(
      objects.patch(
        desired as never,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.ServerSideApply,
      ),
    );
    expect(statusOf(noManager)).toMatchObject({ code: 422, reason: 'Invalid' });
  });
});
