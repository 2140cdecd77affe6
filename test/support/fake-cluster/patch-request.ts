import { parse as parseYaml } from 'yaml';
import { ApiStatusError, badRequest, notFound, unsupportedMediaType } from './api-status.js';
import { serverSideApply } from './managed-fields.js';
import type { ObjectApi, WriteOptions } from './object-api.js';
import { scopeOf } from './object-api.js';
import { jsonPatch, mergePatch } from './patch.js';
import type { KObject, ResourceType } from './types.js';
import { isObject } from './types.js';
import { checkBodyIdentity } from './validation.js';

/**
 * PATCH as the API server implements it: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge
 * patch (built-in kinds only, approximated by a merge patch; custom resources answer 415 as for real) and
 * server-side apply (`application/apply-patch+yaml`, requires `fieldManager`, may create, `force`).
 */
export type PatchKind = 'merge' | 'json' | 'strategic' | 'apply';

const MEDIA: Record<string, PatchKind> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

const accepted = (type: ResourceType): string[] =>
  Object.keys(MEDIA).filter(
    (media) => !media.endsWith('+cbor') && (!type.custom || MEDIA[media] !== 'strategic'),
  );

export const patchKindOf = (type: ResourceType, contentType: string | undefined): PatchKind => {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const kind = MEDIA[media];
  if (!kind || media.endsWith('+cbor') || (kind === 'strategic' && type.custom)) {
    throw unsupportedMediaType(media, accepted(type));
  }
  return kind;
};

const optionsInvalid = (field: string, message: string): ApiStatusError =>
  new ApiStatusError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: 'meta.k8s.io',
    kind: 'PatchOptions',
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });

const parseBody = (kind: PatchKind, raw: string): unknown => {
  try {
    return kind === 'apply' ? (parseYaml(raw) as unknown) : (JSON.parse(raw) as unknown);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
};

export interface PatchResult {
  object: KObject;
  created: boolean;
}

export const patchObject = (
  api: ObjectApi,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  contentType: string | undefined,
  raw: string,
  options: WriteOptions & { force?: boolean },
): PatchResult => {
  const kind = patchKindOf(type, contentType);
  const body = parseBody(kind, raw);
  if (kind !== 'apply' && options.force) {
    throw optionsInvalid('force', 'Forbidden: may not be specified for non-apply patch');
  }
  if (kind === 'apply') return applyPatch(api, type, namespace, name, body, options);
  const live = api.get(type, namespace, name);
  let patched: unknown;
  if (kind === 'json') patched = jsonPatch(live, body);
  else if (!isObject(body)) throw badRequest('a merge patch must be a JSON object');
  else patched = mergePatch(live, body);
  const candidate = checkBodyIdentity(type, patched, namespace, name);
  return { object: api.update(type, candidate, options), created: false };
};

const applyPatch = (
  api: ObjectApi,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  body: unknown,
  options: WriteOptions & { force?: boolean },
): PatchResult => {
  if (!options.fieldManager)
    throw optionsInvalid('fieldManager', 'Required value: is required for apply patch');
  if (!isObject(body) || typeof body['apiVersion'] !== 'string' || typeof body['kind'] !== 'string') {
    throw badRequest('error decoding patch: apiVersion and kind must be set in an apply configuration');
  }
  const applied = checkBodyIdentity(type, body, namespace, name);
  delete applied.metadata.managedFields;
  const actor = {
    manager: options.fieldManager,
    operation: 'Apply' as const,
    ...(options.subresource ? { subresource: options.subresource } : {}),
  };
  const scope = scopeOf(type, options.subresource);
  const live = api.find(type, namespace, name);
  const merged = serverSideApply(live, applied, actor, scope, options.force === true);
  if (!live) {
    if (options.subresource) throw notFound(type, name);
    return { object: api.create(type, merged, options, merged.metadata.managedFields), created: true };
  }
  return { object: api.update(type, merged, options, merged.metadata.managedFields), created: false };
};
