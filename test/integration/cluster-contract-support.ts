import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { expect, inject, vi } from 'vitest';
import { createKubeAdapter } from '../../src/flux/create-kube-adapter.js';
import { FLUX_KINDS, REQUESTED_AT_ANNOTATION, type FluxKind } from '../../src/flux/kinds.js';
import type { KubeAdapter } from '../../src/flux/kube-adapter.js';
import type { KubeCondition, KubeObject } from '../../src/flux/kube-object.js';
import { createRequestedAtTokens } from '../../src/flux/requested-at.js';
import { createSilentLogger } from '../../src/logger.js';
import { startFakeCluster } from '../support/fake-cluster/index.js';
import { pushTestArtifact, type PushedTestArtifact } from '../support/push-test-artifact.js';
import type { RealClusterInfo } from '../support/real-cluster/index.js';

/**
 * The two clusters the contract suite runs against, and one test's view of a cluster: its own namespace, registry
 * repository and object names, driven through the product's KubeAdapter (Flux kinds) and @kubernetes/client-node
 * (namespaces, ConfigMaps, deletes).
 */
/** A cluster under test: started once per describe block, closed after it. */
export interface ClusterTarget {
  start(): Promise<{ kubeconfigPath: string; close(): Promise<void> }>;
}

/** A fresh fake cluster (test/support/fake-cluster); localhost:<port> in spec.url maps to the test registry. */
export const fakeTarget: ClusterTarget = {
  start: async () => {
    const cluster = await startFakeCluster();
    return { kubeconfigPath: cluster.kubeconfigPath, close: () => cluster.close() };
  },
};

/** The shared real cluster of the global set-up; it outlives the file, so closing it is the set-up's job. */
export const realTarget = (info: RealClusterInfo): ClusterTarget => ({
  start: () => Promise.resolve({ kubeconfigPath: info.kubeconfigPath, close: () => Promise.resolve() }),
});

/** How long a controller may take to act: a few of source-controller's backoff steps (0.75 s, 1.5 s, 3 s, ...). */
export const SETTLE = { timeout: 30_000, interval: 100 };

export const condition = (object: KubeObject | undefined, type: string): KubeCondition | undefined =>
  object?.status?.conditions?.find((entry) => entry.type === type);

export const configMap = (name: string, data: Record<string, string> = {}, namespace?: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });

const tokens = createRequestedAtTokens();

export interface Session {
  adapter: KubeAdapter;
  core: CoreV1Api;
  /** The test's namespace: the Flux objects live in it and it is every Kustomization's target. */
  namespace: string;
  /** `oci://localhost:<registry port>/<repository>` */
  url: string;
  /** A unique object name. */
  name(prefix: string): string;
  push(tag: string, files: Record<string, string>): Promise<PushedTestArtifact>;
  source(name: string, spec: Record<string, unknown>): Promise<KubeObject>;
  kustomization(name: string, source: string, spec?: Record<string, unknown>): Promise<KubeObject>;
  get(kind: FluxKind, name: string): Promise<KubeObject>;
  patch(kind: FluxKind, name: string, patch: object): Promise<KubeObject>;
  /** Writes a new `reconcile.fluxcd.io/requestedAt` value and returns it. */
  request(kind: FluxKind, name: string): Promise<string>;
  /** Polls the object until `check` passes (vi.waitFor); returns the object it passed on. */
  until(
    kind: FluxKind,
    name: string,
    check: (object: KubeObject) => void,
    timeout?: number,
  ): Promise<KubeObject>;
  /** Polls until lastHandledReconcileAt is `token`; returns that object. */
  handled(kind: FluxKind, name: string, token: string): Promise<KubeObject>;
  /** A new OCIRepository serving `files` as `tag`, once it has stored that artifact. */
  readySource(
    files: Record<string, string>,
    tag?: string,
  ): Promise<{ name: string; pushed: PushedTestArtifact }>;
  /** Polls until the Kustomization is Ready with `Applied revision: <revision>` and lastAppliedRevision set. */
  applied(name: string, revision: string, timeout?: number): Promise<KubeObject>;
  /** The ConfigMaps in the namespace: name → data. */
  configMaps(): Promise<Record<string, Record<string, string>>>;
  /** Deletes the Flux objects this session created and waits until they are gone. */
  cleanup(): Promise<void>;
}

export const openSession = async (kubeconfigPath: string): Promise<Session> => {
  const suffix = randomBytes(4).toString('hex');
  const namespace = `contract-${suffix}`;
  const endpoint = inject('registryEndpoint');
  const repository = `contract/${suffix}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const adapter = createKubeAdapter({ kubeconfigPath, env: {}, logger: createSilentLogger() });
  // No namespace controller runs on the real cluster, so namespaces are never deleted: unique names avoid clashes.
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const created: { kind: FluxKind; name: string }[] = [];

  const get = async (kind: FluxKind, name: string): Promise<KubeObject> => {
    const object = await adapter.get(kind, namespace, name);
    if (!object) throw new Error(`${kind} ${namespace}/${name} does not exist`);
    return object;
  };
  const apply = async (kind: FluxKind, name: string, spec: Record<string, unknown>): Promise<KubeObject> => {
    created.push({ kind, name });
    return adapter.apply({
      apiVersion: FLUX_KINDS[kind].apiVersion,
      kind,
      metadata: { name, namespace },
      spec,
    });
  };
  const until = async (
    kind: FluxKind,
    name: string,
    check: (object: KubeObject) => void,
    timeout = SETTLE.timeout,
  ): Promise<KubeObject> =>
    vi.waitFor(
      async () => {
        const object = await get(kind, name);
        check(object);
        return object;
      },
      { ...SETTLE, timeout },
    );
  const gone = async (kind: FluxKind, name: string): Promise<boolean> =>
    (await adapter.get(kind, namespace, name)) === undefined;

  const push = (tag: string, files: Record<string, string>): Promise<PushedTestArtifact> =>
    pushTestArtifact({ endpoint, repository, tag, files });
  const url = `oci://localhost:${endpoint.split(':').pop() ?? ''}/${repository}`;

  return {
    adapter,
    core,
    namespace,
    url,
    name: (prefix) => `${prefix}-${suffix}`,
    push,
    source: (name, spec) => apply('OCIRepository', name, { interval: '10m', insecure: true, ...spec }),
    kustomization: (name, source, spec = {}) =>
      apply('Kustomization', name, {
        interval: '10m',
        path: './',
        prune: true,
        targetNamespace: namespace,
        sourceRef: { kind: 'OCIRepository', name: source },
        ...spec,
      }),
    get,
    patch: (kind, name, patch) => adapter.mergePatch(kind, namespace, name, patch),
    request: async (kind, name) => {
      const token = tokens.next();
      await adapter.mergePatch(kind, namespace, name, {
        metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: token } },
      });
      return token;
    },
    until,
    handled: (kind, name, token) =>
      until(kind, name, (object) => expect(object.status?.lastHandledReconcileAt).toBe(token)),
    readySource: async (files, tag = '1.0.0') => {
      const pushed = await push(tag, files);
      const name = `src-${suffix}`;
      await apply('OCIRepository', name, { interval: '10m', insecure: true, url, ref: { tag } });
      await until('OCIRepository', name, (o) => expect(o.status?.artifact?.revision).toBe(pushed.revision));
      return { name, pushed };
    },
    applied: (name, revision, timeout) =>
      until(
        'Kustomization',
        name,
        // The conditions and the rest of status are two writes (fluxcd/pkg/runtime patch.go): wait for both.
        (o) => {
          expect(condition(o, 'Ready')).toMatchObject({
            status: 'True',
            message: `Applied revision: ${revision}`,
          });
          expect(o.status?.lastAppliedRevision).toBe(revision);
        },
        timeout,
      ),
    configMaps: async () => {
      const list = await core.listNamespacedConfigMap({ namespace });
      return Object.fromEntries(
        list.items
          .filter((item) => item.metadata?.name !== 'kube-root-ca.crt')
          .map((item) => [item.metadata?.name ?? '', item.data ?? {}]),
      );
    },
    cleanup: async () => {
      // Kustomizations first, so that their sources are still there while they finalize.
      const order = [...created].sort((a, b) => a.kind.localeCompare(b.kind));
      const unique = order.filter(
        (item, index) =>
          order.findIndex((other) => other.kind === item.kind && other.name === item.name) === index,
      );
      for (const { kind, name } of unique) {
        const info = FLUX_KINDS[kind];
        try {
          await custom.deleteNamespacedCustomObject({ ...info, namespace, name });
        } catch (error) {
          if ((error as { code?: number }).code !== 404) throw error;
        }
      }
      await vi.waitFor(async () => {
        for (const { kind, name } of unique) expect(await gone(kind, name)).toBe(true);
      }, SETTLE);
      adapter.close();
    },
  };
};
