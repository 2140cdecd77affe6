/** Shared shapes and small helpers of the fake Kubernetes API server. */
export type JsonObject = Record<string, unknown>;

export interface ObjectMetaLike extends JsonObject {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface KObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMetaLike;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** A served REST resource: a built-in type or one derived from a CustomResourceDefinition. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  /** Writes to the main resource ignore `status`; `/status` writes change only `status`. */
  statusSubresource: boolean;
  /** metadata.generation is maintained (CRs, CRDs, Deployments), as the real API server does. */
  tracksGeneration: boolean;
  custom: boolean;
  shortNames?: string[];
  categories?: string[];
  /** OpenAPI v3 schema of a custom resource version, for validation, pruning and defaulting. */
  schema?: JsonObject;
}

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const clone = <T>(value: T): T => structuredClone(value);

/** Kubernetes timestamps are RFC 3339 with second precision. */
export const timestamp = (date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const groupOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

export const versionOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;

export const apiVersionOf = (type: Pick<ResourceType, 'group' | 'version'>): string =>
  type.group ? `${type.group}/${type.version}` : type.version;

/** `configmaps` or `ocirepositories.source.toolkit.fluxcd.io`, as API messages name resources. */
export const qualifiedResource = (type: Pick<ResourceType, 'group' | 'plural'>): string =>
  type.group ? `${type.plural}.${type.group}` : type.plural;

export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
};
