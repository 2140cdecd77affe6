import { randomUUID } from 'node:crypto';
import { ApiStatusError } from './api-status.js';
import { statusOf, specOf } from './controller-runtime.js';
import type { ObjectApi } from './object-api.js';
import { patchObject } from './patch-request.js';
import type { KObject } from './types.js';
import { clone, groupOf, isObject, timestamp, versionOf } from './types.js';

/**
 * How kustomize-controller applies a build: namespaces and CRDs first, server-side apply with force as
 * `kustomize-controller`, Flux's ownership labels, `spec.targetNamespace`, and an inventory of
 * `<namespace>_<name>_<group>_<kind>` ids used for pruning. Kinds the API does not serve are still stored
 * (so tests can see them) but cannot be read through the API.
 */
export interface InventoryEntry {
  id: string;
  v: string;
}

export const NAME_LABEL = 'kustomize.toolkit.fluxcd.io/name';
export const NAMESPACE_LABEL = 'kustomize.toolkit.fluxcd.io/namespace';
const PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune';

const FIRST = ['CustomResourceDefinition', 'Namespace'];

export const inventoryOf = (kustomization: KObject): InventoryEntry[] => {
  const inventory = statusOf(kustomization)['inventory'];
  const entries = isObject(inventory) && Array.isArray(inventory['entries']) ? inventory['entries'] : [];
  return entries.filter(
    (entry): entry is InventoryEntry =>
      isObject(entry) && typeof entry['id'] === 'string' && typeof entry['v'] === 'string',
  );
};

const idOf = (object: KObject): string =>
  `${object.metadata.namespace ?? ''}_${object.metadata.name ?? ''}_${groupOf(object.apiVersion)}_${object.kind}`;

const describe = (object: KObject): string =>
  [object.kind, object.metadata.namespace, object.metadata.name].filter(Boolean).join('/');

const storeGeneric = (api: ObjectApi, object: KObject): void => {
  const existing = api.store.get(
    groupOf(object.apiVersion),
    object.kind,
    object.metadata.namespace,
    object.metadata.name ?? '',
  );
  const stored = clone(object);
  stored.metadata.uid = existing?.metadata.uid ?? randomUUID();
  stored.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? timestamp();
  delete stored.metadata.resourceVersion;
  api.store.put(stored);
};

export const applyManifests = (
  api: ObjectApi,
  manifests: readonly KObject[],
  kustomization: KObject,
  manager: string,
): InventoryEntry[] => {
  const targetNamespace = specOf(kustomization)['targetNamespace'];
  const ordered = [...manifests].sort(
    (a, b) => (FIRST.indexOf(a.kind) + 1 || 9) - (FIRST.indexOf(b.kind) + 1 || 9),
  );
  const entries: InventoryEntry[] = [];
  for (const manifest of ordered) {
    const object = clone(manifest);
    const type = api.typeOf(object.apiVersion, object.kind);
    const namespaced = type ? type.namespaced : Boolean(object.metadata.namespace || targetNamespace);
    if (namespaced && typeof targetNamespace === 'string') object.metadata.namespace = targetNamespace;
    if (!namespaced) delete object.metadata.namespace;
    if (namespaced && !object.metadata.namespace) {
      // The dry-run goes to the cluster-scoped path, which 404s; fluxcd/pkg/ssa errors.go DryRunErr says why.
      throw new ApiStatusError(
        404,
        'NotFound',
        `${describe(object)} namespace not specified: the server could not find the requested resource`,
      );
    }
    object.metadata.labels = {
      ...object.metadata.labels,
      [NAME_LABEL]: kustomization.metadata.name ?? '',
      [NAMESPACE_LABEL]: kustomization.metadata.namespace ?? '',
    };
    if (!type) storeGeneric(api, object);
    else {
      try {
        patchObject(
          api,
          type,
          object.metadata.namespace,
          object.metadata.name ?? '',
          'application/apply-patch+yaml',
          JSON.stringify(object),
          {
            fieldManager: manager,
            force: true,
          },
        );
      } catch (error) {
        if (!(error instanceof ApiStatusError)) throw error;
        throw new ApiStatusError(
          error.code,
          error.reason,
          `${describe(object)} dry-run failed (${error.reason}): ${error.message}`,
        );
      }
    }
    entries.push({ id: idOf(object), v: versionOf(object.apiVersion) });
  }
  return entries;
};

/** Deletes objects of the old inventory missing from the new one, if they still carry this Kustomization's labels. */
export const pruneInventory = (
  api: ObjectApi,
  previous: readonly InventoryEntry[],
  current: readonly InventoryEntry[],
  kustomization: KObject,
): void => {
  const keep = new Set(current.map((entry) => entry.id));
  for (const entry of previous) {
    if (keep.has(entry.id)) continue;
    const [namespace = '', name = '', group = '', kind = ''] = entry.id.split('_');
    const apiVersion = group ? `${group}/${entry.v}` : entry.v;
    const type = api.typeOf(apiVersion, kind);
    const object = api.store.get(group, kind, namespace || undefined, name);
    if (!object) continue;
    const labels = object.metadata.labels ?? {};
    if (
      labels[NAME_LABEL] !== kustomization.metadata.name ||
      labels[NAMESPACE_LABEL] !== kustomization.metadata.namespace
    ) {
      continue;
    }
    if (object.metadata.annotations?.[PRUNE_ANNOTATION] === 'disabled') continue;
    if (type) api.delete(type, namespace || undefined, name, {});
    else api.store.remove(object);
  }
};
