import { isMap, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import type { FileProblem } from './manifest-check.js';
import { positionsOf } from './manifest-check.js';

/*
 * A namespaced object that reaches the cluster without a namespace fails kustomize-controller's server-side apply:
 * Ready=False, ReconciliationFailed, `ConfigMap/x namespace not specified: the server could not find the requested
 * resource` (fluxcd/pkg/ssa errors.go, DryRunErr.Error). Nothing defaults it to `default`. This module checks for
 * that before the push; it needs to know which kinds are namespaced, so unknown kinds are not checked.
 */

export type Scope = 'Namespaced' | 'Cluster';

/** What the namespace check needs from one object of a file; it depends on the file alone, so it is cached. */
export interface ObjectSummary {
  /** Index among the file's documents that are mappings; `item` for an entry of a `List`. */
  document: number;
  item?: number;
  apiVersion: string;
  kind: string;
  name: string;
  hasNamespace: boolean;
  /** For a CustomResourceDefinition: the `group/Kind` it defines and its scope. */
  defines?: { key: string; scope: Scope };
}

/** Built-in kinds by API group (`` is the core group), from the Kubernetes API reference. */
const BUILT_IN: Record<string, { cluster?: readonly string[]; namespaced?: readonly string[] }> = {
  '': {
    cluster: ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
    namespaced: [
      ...['ConfigMap', 'Secret', 'Service', 'ServiceAccount', 'Pod', 'PodTemplate', 'ReplicationController'],
      ...['PersistentVolumeClaim', 'LimitRange', 'ResourceQuota', 'Endpoints', 'Event', 'Binding'],
    ],
  },
  apps: { namespaced: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision'] },
  batch: { namespaced: ['Job', 'CronJob'] },
  autoscaling: { namespaced: ['HorizontalPodAutoscaler'] },
  policy: { namespaced: ['PodDisruptionBudget'], cluster: ['PodSecurityPolicy'] },
  extensions: { namespaced: ['Deployment', 'DaemonSet', 'ReplicaSet', 'Ingress', 'NetworkPolicy'] },
  'rbac.authorization.k8s.io': {
    cluster: ['ClusterRole', 'ClusterRoleBinding'],
    namespaced: ['Role', 'RoleBinding'],
  },
  'networking.k8s.io': {
    cluster: ['IngressClass', 'ServiceCIDR', 'IPAddress'],
    namespaced: ['Ingress', 'NetworkPolicy'],
  },
  'discovery.k8s.io': { namespaced: ['EndpointSlice'] },
  'coordination.k8s.io': { namespaced: ['Lease', 'LeaseCandidate'] },
  'events.k8s.io': { namespaced: ['Event'] },
  'apiextensions.k8s.io': { cluster: ['CustomResourceDefinition'] },
  'apiregistration.k8s.io': { cluster: ['APIService'] },
  'admissionregistration.k8s.io': {
    cluster: [
      ...['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'],
      ...['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'],
      ...['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding'],
    ],
  },
  'storage.k8s.io': {
    cluster: ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
    namespaced: ['CSIStorageCapacity'],
  },
  'scheduling.k8s.io': { cluster: ['PriorityClass'] },
  'node.k8s.io': { cluster: ['RuntimeClass'] },
  'flowcontrol.apiserver.k8s.io': { cluster: ['FlowSchema', 'PriorityLevelConfiguration'] },
  'certificates.k8s.io': { cluster: ['CertificateSigningRequest', 'ClusterTrustBundle'] },
  'resource.k8s.io': {
    cluster: ['DeviceClass', 'ResourceSlice'],
    namespaced: ['ResourceClaim', 'ResourceClaimTemplate'],
  },
  'storagemigration.k8s.io': { cluster: ['StorageVersionMigration'] },
};

const BUILT_IN_SCOPES: ReadonlyMap<string, Scope> = new Map(
  Object.entries(BUILT_IN).flatMap(([group, kinds]) => [
    ...(kinds.cluster ?? []).map((kind): [string, Scope] => [`${group}/${kind}`, 'Cluster']),
    ...(kinds.namespaced ?? []).map((kind): [string, Scope] => [`${group}/${kind}`, 'Namespaced']),
  ]),
);

const groupOf = (apiVersion: string): string => {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
};

/**
 * The scope of a kind: built-in kinds from the table, custom resources from a CustomResourceDefinition in the same
 * source, Flux's own kinds (`*.toolkit.fluxcd.io`) namespaced; undefined (not checked) for anything else.
 */
export const scopeOf = (
  apiVersion: string,
  kind: string,
  crds: ReadonlyMap<string, Scope>,
): Scope | undefined => {
  const group = groupOf(apiVersion);
  const key = `${group}/${kind}`;
  return (
    BUILT_IN_SCOPES.get(key) ??
    crds.get(key) ??
    (group.endsWith('.toolkit.fluxcd.io') ? 'Namespaced' : undefined)
  );
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

const definitionOf = (object: Record<string, unknown>): ObjectSummary['defines'] => {
  if (
    object.kind !== 'CustomResourceDefinition' ||
    groupOf(String(object.apiVersion)) !== 'apiextensions.k8s.io'
  )
    return undefined;
  const spec = isRecord(object.spec) ? object.spec : {};
  const names = isRecord(spec.names) ? spec.names : {};
  if (!isText(spec.group) || !isText(names.kind)) return undefined;
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') return undefined;
  return { key: `${spec.group}/${names.kind}`, scope: spec.scope };
};

const summaryOf = (value: unknown, document: number, item?: number): ObjectSummary[] => {
  if (!isRecord(value) || !isText(value.apiVersion) || !isText(value.kind)) return [];
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  if (!isText(metadata.name)) return [];
  const namespace = metadata.namespace;
  const defines = definitionOf(value);
  return [
    {
      document,
      ...(item === undefined ? {} : { item }),
      apiVersion: value.apiVersion,
      kind: value.kind,
      name: metadata.name,
      // Any value counts: a namespace that is not a string is the API server's to reject, not "not specified".
      hasNamespace: namespace !== undefined && namespace !== null && namespace !== '',
      ...(defines ? { defines } : {}),
    },
  ];
};

/** The objects of a file's documents, as plain values (js-yaml's or JSON.parse's); kustomize expands `List`s. */
export const summarizeValues = (values: readonly unknown[]): ObjectSummary[] => {
  const summaries: ObjectSummary[] = [];
  let document = 0;
  for (const value of values) {
    if (!isRecord(value)) continue;
    if (isText(value.kind) && value.kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item: unknown, index) => summaries.push(...summaryOf(item, document, index)));
    } else {
      summaries.push(...summaryOf(value, document));
    }
    document++;
  }
  return summaries;
};

/** The same from the `yaml` package's documents; nothing for a file with syntax errors. */
export const summarizeDocuments = (documents: readonly Document.Parsed[]): ObjectSummary[] => {
  if (documents.some((doc) => doc.errors.length > 0)) return [];
  const values = documents.map((doc): unknown => {
    if (!isMap(doc.contents)) return undefined;
    try {
      return doc.toJS();
    } catch {
      // Too many aliases (a "billion laughs" document): keep the index, skip the object.
      return {};
    }
  });
  return summarizeValues(values);
};

/** Where to point for an object: its metadata (where `namespace:` goes), else the object itself. */
const locate = (mappings: readonly Document[], summary: ObjectSummary): number => {
  let node: unknown = mappings[summary.document]?.contents;
  if (summary.item !== undefined) {
    const items: unknown = isMap(node) ? node.get('items', true) : undefined;
    node = isSeq(items) ? items.items[summary.item] : node;
  }
  const metadata: unknown = isMap(node) ? node.get('metadata', true) : undefined;
  return (metadata as Node | undefined)?.range?.[0] ?? (node as Node | undefined)?.range?.[0] ?? 0;
};

export interface NamespaceContext {
  /** `sources[].name`, for the message. */
  sourceName: string | undefined;
  /** The scopes the source's CustomResourceDefinitions declare, by `group/Kind`. */
  crds: ReadonlyMap<string, Scope>;
}

export const crdScopes = (summaries: Iterable<readonly ObjectSummary[]>): Map<string, Scope> => {
  const scopes = new Map<string, Scope>();
  for (const objects of summaries)
    for (const object of objects) {
      if (object.defines) scopes.set(object.defines.key, object.defines.scope);
    }
  return scopes;
};

/**
 * The objects of one applied file that end up without a namespace: namespaced, no metadata.namespace, and no
 * targetNamespace or kustomization `namespace:` on the way (the caller knows that and calls only when neither is set).
 */
export const namespaceProblems = (
  text: () => string,
  objects: readonly ObjectSummary[],
  context: NamespaceContext,
): FileProblem[] => {
  const missing = objects.filter(
    (object) =>
      !object.hasNamespace && scopeOf(object.apiVersion, object.kind, context.crds) === 'Namespaced',
  );
  if (missing.length === 0) return [];
  const source =
    context.sourceName === undefined ? 'the source' : `source ${JSON.stringify(context.sourceName)}`;
  // Only files with a problem are parsed again, for positions (the summaries have none).
  const content = text();
  const at = positionsOf(content);
  const mappings = Array.from(parseAllDocuments(content, { prettyErrors: false, uniqueKeys: false })).filter(
    (doc) => isMap(doc.contents),
  );
  return missing.map((object) => ({
    ...at(locate(mappings, object)),
    message: `${object.kind}/${object.name} has no namespace and ${source} sets no targetNamespace, so Flux fails with "namespace not specified"; set metadata.namespace, or targetNamespace on the source (or namespace: in a kustomization.yaml)`,
  }));
};
