import type { JsonObject } from './types.js';
import { isObject } from './types.js';

/**
 * Field sets for server-side apply. A path is the list of map keys from the root to an owned leaf: a scalar,
 * a list (every list is treated as atomic, which is what CRD lists without x-kubernetes-list-type are) or an
 * empty map. Sets hold paths JSON-encoded so they compare by value.
 */
export type FieldPath = string[];
export type FieldSet = Set<string>;

const SYSTEM_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

export type FieldScope = 'all' | 'main' | 'status';

export const encodePath = (path: FieldPath): string => JSON.stringify(path);
export const decodePath = (key: string): FieldPath => JSON.parse(key) as FieldPath;

const tracked = (path: FieldPath, scope: FieldScope): boolean => {
  const [first, second] = path;
  if (first === 'apiVersion' || first === 'kind') return false;
  if (first === 'metadata' && second !== undefined && SYSTEM_METADATA.has(second)) return false;
  if (scope === 'main') return first !== 'status';
  if (scope === 'status') return first === 'status';
  return true;
};

/** The owned leaves of an object (or of an apply configuration), limited to the scope. */
export const leaves = (value: unknown, scope: FieldScope, prefix: FieldPath = []): FieldSet => {
  const result: FieldSet = new Set();
  const walk = (node: unknown, path: FieldPath): void => {
    if (path.length && !tracked(path, scope)) return;
    if (isObject(node) && Object.keys(node).length) {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    } else if (path.length && !(path.length === 1 && path[0] === 'metadata')) {
      result.add(encodePath(path));
    }
  };
  walk(value, prefix);
  return result;
};

export const valueAt = (value: unknown, path: FieldPath): unknown => {
  let node = value;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
};

/** Deletes the leaf at `path` and then any map it leaves empty below the top level. */
export const removeAt = (object: JsonObject, path: FieldPath): void => {
  const chain: JsonObject[] = [object];
  for (const key of path.slice(0, -1)) {
    const next = chain[chain.length - 1]?.[key];
    if (!isObject(next)) return;
    chain.push(next);
  }
  const last = path[path.length - 1];
  if (last === undefined) return;
  delete chain[chain.length - 1]?.[last];
  for (let depth = chain.length - 1; depth >= 2; depth -= 1) {
    const node = chain[depth];
    const key = path[depth - 1];
    if (node && key !== undefined && !Object.keys(node).length) delete chain[depth - 1]?.[key];
  }
};

/** `{"f:spec":{"f:ref":{"f:tag":{}}}}` from a set, as metadata.managedFields[].fieldsV1 holds it. */
export const toFieldsV1 = (set: FieldSet): JsonObject => {
  const root: JsonObject = {};
  for (const key of [...set].sort()) {
    let node = root;
    for (const segment of decodePath(key)) {
      const name = `f:${segment}`;
      const child = isObject(node[name]) ? node[name] : {};
      node[name] = child;
      node = child;
    }
  }
  return root;
};

/** The inverse of toFieldsV1; `k:`/`v:`/`i:` list members written by others count as owning their list. */
export const fromFieldsV1 = (fields: unknown): FieldSet => {
  const result: FieldSet = new Set();
  const walk = (node: unknown, path: FieldPath): void => {
    const entries = isObject(node) ? Object.entries(node).filter(([key]) => key !== '.') : [];
    const named = entries.filter(([key]) => key.startsWith('f:'));
    if (entries.length !== named.length || !named.length) {
      if (path.length) result.add(encodePath(path));
      if (entries.length !== named.length) return;
    }
    for (const [key, child] of named) walk(child, [...path, key.slice(2)]);
  };
  walk(fields, []);
  return result;
};

/** `.spec.ref.tag`, as conflict messages name fields. */
export const displayPath = (key: string): string => `.${decodePath(key).join('.')}`;
