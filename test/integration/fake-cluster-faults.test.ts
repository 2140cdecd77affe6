import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadFluxCrds } from '../support/fake-cluster/flux-crds.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { rejectionOf } from '../support/rejection.js';

// Custom-object bodies come back untyped from the client; tests read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const OCI = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'ocirepositories' };

const statusOf = (error: unknown): Record<string, Loose> => {
  expect(error).toBeInstanceOf(ApiException);
  const body = (error as ApiException<unknown>).body;
  return typeof body === 'string' ? JSON.parse(body) : (body as Record<string, Loose>);
};

interface Seen {
  type: string;
  object: Loose;
}

let cluster: FakeCluster;
let kc: KubeConfig;
let core: CoreV1Api;

beforeEach(async () => {
  cluster = await startFakeCluster({ controllers: false, watchHistoryLimit: 5 });
  kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(async () => {
  await cluster.close();
});

describe('fake cluster: watch', () => {
  it('streams ADDED/MODIFIED/DELETED after a resourceVersion, filtered by name', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'w' } },
    });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other' } } });
    const seen: Seen[] = [];
    let ended: unknown = 'open';
    const controller = await new Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: created.metadata?.resourceVersion, fieldSelector: 'metadata.name=w' },
      (type, object) => seen.push({ type, object }),
      (error) => (ended = error),
    );
    await core.replaceNamespacedConfigMap({
      name: 'w',
      namespace: 'default',
      body: { metadata: { name: 'w' }, data: { a: '1' } },
    });
    await core.replaceNamespacedConfigMap({
      name: 'other',
      namespace: 'default',
      body: { metadata: { name: 'other' }, data: { a: '1' } },
    });
    await core.deleteNamespacedConfigMap({ name: 'w', namespace: 'default' });
    await vi.waitFor(() => expect(seen.map((event) => event.type)).toEqual(['MODIFIED', 'DELETED']));
    expect(seen[0]?.object.data).toEqual({ a: '1' });
    controller.abort();
    await vi.waitFor(() => expect(ended).not.toBe('open'));
  });

  it('sends 410 Expired for a resourceVersion older than the history', async () => {
    for (let index = 0; index < 8; index += 1) {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: `h${index}` } },
      });
    }
    const seen: Seen[] = [];
    await new Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: '1' },
      (type, object) => seen.push({ type, object }),
      () => undefined,
    );
    await vi.waitFor(() =>
      expect(seen[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } }),
    );
  });

  it('ends open watches abruptly when the API becomes unreachable', async () => {
    let ended: unknown = 'open';
    await new Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      {},
      () => undefined,
      (error) => (ended = error),
    );
    await vi.waitFor(() =>
      expect(cluster.requests.some((request) => request.query['watch'] === 'true')).toBe(true),
    );
    cluster.faults.setUnreachable(true);
    await vi.waitFor(() => expect(ended).not.toBe('open'));
  });
});

describe('fake cluster: faults', () => {
  it('answers the next n writes with 409 Conflict', async () => {
    cluster.faults.conflictNextWrites(1);
    const error = await rejectionOf(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' } } }),
    );
    expect(statusOf(error)).toMatchObject({ code: 409, reason: 'Conflict' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' } } });
  });

  it('refuses connections while unreachable, then serves again', async () => {
    cluster.faults.setUnreachable(true);
    const started = Date.now();
    const error = await rejectionOf(core.listNamespace());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(String((error as Error).message)).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
    cluster.faults.setUnreachable(false);
    expect((await core.listNamespace()).items.map((item) => item.metadata?.name)).toContain('default');
  });
});

describe('fake cluster: error Status bodies', () => {
  it('reports NotFound, Invalid and missing namespaces like the API server', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const missing = await rejectionOf(
      custom.getNamespacedCustomObject({ ...OCI, namespace: 'flux-system', name: 'nope' }),
    );
    expect(statusOf(missing)).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      code: 404,
      reason: 'NotFound',
      message: 'ocirepositories.source.toolkit.fluxcd.io "nope" not found',
      details: { name: 'nope', group: OCI.group, kind: 'ocirepositories' },
    });
    const body = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'bad' },
      spec: { url: 'http://localhost:5000/x', interval: 'soon' },
    };
    const invalid = statusOf(
      await rejectionOf(custom.createNamespacedCustomObject({ ...OCI, namespace: 'flux-system', body })),
    );
    expect(invalid).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(invalid['message']).toContain(
      `spec.url: Invalid value: "http://localhost:5000/x": spec.url in body should match '^oci://.*$'`,
    );
    expect(invalid['details'].causes.map((cause: Loose) => cause.field).sort()).toEqual([
      'spec.interval',
      'spec.url',
    ]);
    const required = statusOf(
      await rejectionOf(
        custom.createNamespacedCustomObject({
          ...OCI,
          namespace: 'flux-system',
          body: { ...body, spec: {} },
        }),
      ),
    );
    expect(required['message']).toContain('spec.interval: Required value');
    const nameless = statusOf(
      await rejectionOf(core.createNamespacedConfigMap({ namespace: 'default', body: { data: {} } })),
    );
    expect(nameless).toMatchObject({ code: 422, reason: 'Invalid' });
    const noNamespace = statusOf(
      await rejectionOf(
        core.createNamespacedConfigMap({ namespace: 'ghost', body: { metadata: { name: 'x' } } }),
      ),
    );
    expect(noNamespace).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'namespaces "ghost" not found',
    });
  });

  // Needs Flux's real schemas (../shared/reference/flux-crds); the built-in stand-ins keep unknown spec fields.
  it.runIf(loadFluxCrds().source === 'files')(
    'prunes unknown fields of custom resources, or rejects them with fieldValidation=Strict',
    async () => {
      const custom = kc.makeApiClient(CustomObjectsApi);
      const body = {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'OCIRepository',
        metadata: { name: 'pruned' },
        spec: { url: 'oci://localhost:5000/x', interval: '1m', bogus: { deep: 1 } },
      };
      const created = await custom.createNamespacedCustomObject({ ...OCI, namespace: 'flux-system', body });
      expect(created.spec.bogus).toBeUndefined();
      const strict = await rejectionOf(
        custom.createNamespacedCustomObject({
          ...OCI,
          namespace: 'flux-system',
          fieldValidation: 'Strict',
          body: { ...body, metadata: { name: 'strict' } },
        }),
      );
      expect(statusOf(strict)).toMatchObject({ code: 400, reason: 'BadRequest' });
      expect(statusOf(strict)['message']).toContain('unknown field "spec.bogus"');
    },
  );
});
