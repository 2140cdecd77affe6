import { randomBytes } from 'node:crypto';
import { realApi, type RealClusterInfo } from './index.js';

type Json = Record<string, unknown>;

const SOURCE_PATH = '/apis/source.toolkit.fluxcd.io/v1';
const KUSTOMIZE_PATH = '/apis/kustomize.toolkit.fluxcd.io/v1';

/** A name no other test uses: the real cluster is shared by every test file of a run. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

/**
 * Reads and writes of the real API server for tests: the Flux objects in `fluxNamespace` and what Flux applied,
 * independent of the code under test (plain HTTPS requests with the cluster's token).
 */
export const realClusterView = (cluster: RealClusterInfo, fluxNamespace: string) => {
  const read = async (path: string): Promise<Json | undefined> => {
    const { status, body } = await realApi(cluster, 'GET', path);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(body)}`);
    return body as Json;
  };
  const write = async (method: string, path: string, body: unknown, type?: string): Promise<Json> => {
    const response = await realApi(cluster, method, path, body, type);
    if (response.status >= 300) {
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body as Json;
  };
  const ociPath = (name: string) => `${SOURCE_PATH}/namespaces/${fluxNamespace}/ocirepositories/${name}`;
  const ksPath = (name: string) => `${KUSTOMIZE_PATH}/namespaces/${fluxNamespace}/kustomizations/${name}`;
  const status = (object: Json | undefined) => object?.status as Json | undefined;
  const merge = 'application/merge-patch+json';
  return {
    ociRepository: (name: string) => read(ociPath(name)),
    kustomization: (name: string) => read(ksPath(name)),
    tag: async (name: string): Promise<string | undefined> =>
      ((await read(ociPath(name)))?.spec as { ref?: { tag?: string } } | undefined)?.ref?.tag,
    sourceRevision: async (name: string): Promise<string | undefined> =>
      (status(await read(ociPath(name)))?.artifact as { revision?: string } | undefined)?.revision,
    lastAppliedRevision: async (name: string): Promise<string | undefined> =>
      status(await read(ksPath(name)))?.lastAppliedRevision as string | undefined,
    configMapData: async (namespace: string, name: string): Promise<Record<string, string> | undefined> =>
      (await read(`/api/v1/namespaces/${namespace}/configmaps/${name}`))?.data as
        Record<string, string> | undefined,
    createNamespace: (name: string) =>
      write('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    /** A JSON merge patch, as `kubectl patch --type merge` does it (field manager `kubectl-patch`). */
    patchOCIRepository: (name: string, patch: unknown) =>
      write('PATCH', `${ociPath(name)}?fieldManager=kubectl-patch`, patch, merge),
    patchKustomization: (name: string, patch: unknown) =>
      write('PATCH', `${ksPath(name)}?fieldManager=kubectl-patch`, patch, merge),
    /** Deletes every Flux object in the namespace (the controllers' finalizers prune what they applied). */
    deleteFluxObjects: async (): Promise<void> => {
      await Promise.allSettled([
        realApi(cluster, 'DELETE', `${KUSTOMIZE_PATH}/namespaces/${fluxNamespace}/kustomizations`),
        realApi(cluster, 'DELETE', `${SOURCE_PATH}/namespaces/${fluxNamespace}/ocirepositories`),
      ]);
    },
  };
};

export type RealClusterView = ReturnType<typeof realClusterView>;

/** A Flux namespace and a target namespace of their own on the real cluster, created, with a view of them. */
export const realClusterNamespaces = async (
  cluster: RealClusterInfo,
): Promise<{ view: RealClusterView; fluxNamespace: string; target: string }> => {
  const fluxNamespace = uniqueName('flux');
  const target = uniqueName('apps');
  const view = realClusterView(cluster, fluxNamespace);
  await view.createNamespace(fluxNamespace);
  await view.createNamespace(target);
  return { view, fluxNamespace, target };
};
