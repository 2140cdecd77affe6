import type { FakeCluster } from '../support/fake-cluster/index.js';
import { readLayer } from '../support/tar-layer.js';

/** What the daemon leaves behind, read back independently of its code: the real registry and the fake cluster. */

/** Tags of a repository in the registry at `endpoint`, sorted as semver (all tags here are x.y.z). */
export const registryTags = async (endpoint: string, repository: string): Promise<string[]> => {
  const response = await fetch(`http://${endpoint}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  const body = (await response.json()) as { tags?: string[] | null };
  const key = (tag: string): number[] => tag.split('.').map(Number);
  return (body.tags ?? []).sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return (x[0]! - y[0]!) * 1e6 + (x[1]! - y[1]!) * 1e3 + (x[2]! - y[2]!);
  });
};

/** The files of the artifact `repository:tag`, read back from the registry (manifest → layer → tar+gzip). */
export const artifactFiles = async (
  endpoint: string,
  repository: string,
  tag: string,
): Promise<Map<string, string>> => {
  const manifestResponse = await fetch(`http://${endpoint}/v2/${repository}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (!manifestResponse.ok) throw new Error(`${repository}:${tag}: HTTP ${manifestResponse.status}`);
  const manifest = (await manifestResponse.json()) as { layers: { digest: string }[] };
  const layer = manifest.layers[0];
  if (!layer) throw new Error(`${repository}:${tag} has no layer`);
  const blob = await fetch(`http://${endpoint}/v2/${repository}/blobs/${layer.digest}`);
  const entries = await readLayer(Buffer.from(await blob.arrayBuffer()));
  return new Map(
    entries
      .filter((entry) => entry.header.type === 'file')
      .map((entry) => [entry.header.name, entry.content.toString('utf8')]),
  );
};

/** Readers of the Flux objects and ConfigMaps the daemon and the emulated controllers leave in the fake cluster. */
export const clusterView = (cluster: FakeCluster, fluxNamespace = 'flux-system') => {
  const spec = (object: Record<string, unknown> | undefined) =>
    object?.spec as Record<string, unknown> | undefined;
  const status = (object: Record<string, unknown> | undefined) =>
    object?.status as Record<string, unknown> | undefined;
  const ociRepository = (name: string) =>
    cluster.get('source.toolkit.fluxcd.io/v1', 'OCIRepository', fluxNamespace, name);
  const kustomization = (name: string) =>
    cluster.get('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', fluxNamespace, name);
  return {
    ociRepository,
    kustomization,
    /** `spec.ref.tag` of the source's OCIRepository. */
    tag: (name: string): string | undefined =>
      (spec(ociRepository(name))?.ref as { tag?: string } | undefined)?.tag,
    /** The revision the source-controller stores (`<tag>@sha256:…`). */
    sourceRevision: (name: string): string | undefined =>
      (status(ociRepository(name))?.artifact as { revision?: string } | undefined)?.revision,
    lastAppliedRevision: (name: string): string | undefined =>
      status(kustomization(name))?.lastAppliedRevision as string | undefined,
    configMapData: (namespace: string, name: string): Record<string, string> | undefined =>
      cluster.get('v1', 'ConfigMap', namespace, name)?.data as Record<string, string> | undefined,
  };
};
