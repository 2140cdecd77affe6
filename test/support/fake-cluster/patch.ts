import { ApiStatusError, badRequest } from './api-status.js';
import type { JsonObject } from './types.js';
import { clone, deepEqual, isObject } from './types.js';

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
};

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** Errors applying a well-formed patch are 422 Invalid, as the API server reports them. */
const patchFailed = (message: string): ApiStatusError =>
  new ApiStatusError(
    422,
    'Invalid',
    `the server rejected our request due to an error in our request: ${message}`,
  );

const parsePointer = (pointer: string): string[] => {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
};

const parentOf = (document: unknown, tokens: string[], pointer: string): unknown => {
  let node = document;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else node = undefined;
    if (node === undefined) throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  }
  return node;
};

const read = (document: unknown, pointer: string): unknown => {
  const tokens = parsePointer(pointer);
  if (!tokens.length) return document;
  const parent = parentOf(document, tokens, pointer);
  const last = tokens[tokens.length - 1] ?? '';
  const value = Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
  if (value === undefined) throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  return value;
};

const arrayIndex = (array: unknown[], token: string, pointer: string, inserting: boolean): number => {
  const index = token === '-' && inserting ? array.length : Number(token);
  const limit = inserting ? array.length : array.length - 1;
  if (!/^(0|[1-9][0-9]*|-)$/.test(token) || Number.isNaN(index) || index > limit) {
    throw patchFailed(`invalid array index in "${pointer}"`);
  }
  return index;
};

const add = (document: unknown, pointer: string, value: unknown): unknown => {
  const tokens = parsePointer(pointer);
  if (!tokens.length) return clone(value);
  const parent = parentOf(document, tokens, pointer);
  const last = tokens[tokens.length - 1] ?? '';
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, true), 0, clone(value));
  else if (isObject(parent)) parent[last] = clone(value);
  else throw patchFailed(`doc is missing path: "${pointer}"`);
  return document;
};

const remove = (document: unknown, pointer: string): unknown => {
  const tokens = parsePointer(pointer);
  const parent = parentOf(document, tokens, pointer);
  const last = tokens[tokens.length - 1] ?? '';
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, false), 1);
  else if (isObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  else throw patchFailed(`Unable to remove nonexistent key: ${last}: missing value`);
  return document;
};

const parseOperations = (patch: unknown): Operation[] => {
  if (!Array.isArray(patch))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  return patch.map((entry) => {
    if (!isObject(entry) || typeof entry['op'] !== 'string' || typeof entry['path'] !== 'string') {
      throw badRequest('invalid JSON patch operation: op and path are required');
    }
    return entry as unknown as Operation;
  });
};

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test); the document is not modified. */
export const jsonPatch = (document: unknown, patch: unknown): unknown => {
  let result = clone(document);
  for (const operation of parseOperations(patch)) {
    switch (operation.op) {
      case 'add':
        result = add(result, operation.path, operation.value);
        break;
      case 'remove':
        result = remove(result, operation.path);
        break;
      case 'replace':
        read(result, operation.path);
        result = add(remove(result, operation.path), operation.path, operation.value);
        break;
      case 'move': {
        const value = read(result, operation.from ?? '');
        result = add(remove(result, operation.from ?? ''), operation.path, value);
        break;
      }
      case 'copy':
        result = add(result, operation.path, read(result, operation.from ?? ''));
        break;
      case 'test':
        if (!deepEqual(read(result, operation.path), operation.value)) {
          throw patchFailed(`testing value ${operation.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${operation.op}`);
    }
  }
  return result;
};
