import type { StatusCause } from './api-status.js';
import { ApiStatusError, badRequest, invalid } from './api-status.js';
import { decodePath, leaves, valueAt } from './field-sets.js';
import { conformToSchema } from './schema.js';
import type { KObject, ResourceType } from './types.js';
import { apiVersionOf, isObject } from './types.js';

/** Per-write validation that the real API server performs before storing an object. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const nameCauses = (type: ResourceType, name: string): StatusCause[] => {
  if (type.kind === 'Namespace') {
    return DNS_LABEL.test(name) && name.length <= 63
      ? []
      : [
          {
            reason: 'FieldValueInvalid',
            field: 'metadata.name',
            message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
          },
        ];
  }
  return DNS_SUBDOMAIN.test(name) && name.length <= 253
    ? []
    : [
        {
          reason: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        },
      ];
};

const assertStringMap = (object: KObject, field: string): void => {
  const value = object[field];
  if (value === undefined || value === null) return;
  if (!isObject(value) || Object.values(value).some((entry) => typeof entry !== 'string')) {
    throw badRequest(
      `${object.kind} in version "v1" cannot be handled as a ${object.kind}: json: cannot unmarshal into Go struct field ${object.kind}.${field} of type map[string]string`,
    );
  }
};

/** Fields pruning removed (topmost path of each), for fieldValidation=Strict. */
const droppedFields = (original: KObject, pruned: KObject): string[] => {
  const dropped = new Set<string>();
  for (const key of leaves(original, 'all')) {
    const path = decodePath(key);
    const depth = path.findIndex((_, index) => valueAt(pruned, path.slice(0, index + 1)) === undefined);
    if (depth >= 0) dropped.add(path.slice(0, depth + 1).join('.'));
  }
  return [...dropped].sort();
};

const metadataCauses = (object: KObject): StatusCause[] => {
  const causes: StatusCause[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    const map = object.metadata[field];
    if (
      map !== undefined &&
      (!isObject(map) || Object.values(map).some((value) => typeof value !== 'string'))
    ) {
      throw badRequest(
        `json: cannot unmarshal into Go struct field ObjectMeta.metadata.${field} of type string`,
      );
    }
  }
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    if (value.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: `metadata.labels`,
        message: `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${key})`,
      });
    }
  }
  return causes;
};

const crdCauses = (object: KObject): StatusCause[] => {
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const causes: StatusCause[] = [];
  for (const [field, value] of [
    ['spec.group', spec['group']],
    ['spec.names.plural', names['plural']],
    ['spec.names.kind', names['kind']],
    ['spec.scope', spec['scope']],
  ] as const) {
    if (typeof value !== 'string' || !value)
      causes.push({ reason: 'FieldValueRequired', field, message: 'Required value' });
  }
  if (!Array.isArray(spec['versions']) || !spec['versions'].length) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.versions', message: 'Required value' });
  }
  const expected = `${String(names['plural'])}.${String(spec['group'])}`;
  if (object.metadata.name !== expected) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${object.metadata.name ?? ''}": must be spec.names.plural+"."+spec.group`,
    });
  }
  return causes;
};

/** Validates, prunes and defaults an object about to be stored; throws 400/422 like the API server. */
export const admit = (type: ResourceType, object: KObject, strict = false): KObject => {
  const name = object.metadata.name ?? '';
  if (type.kind === 'ConfigMap') {
    assertStringMap(object, 'data');
    assertStringMap(object, 'binaryData');
  }
  if (type.kind === 'Secret') {
    assertStringMap(object, 'data');
    assertStringMap(object, 'stringData');
  }
  const causes = [...nameCauses(type, name), ...metadataCauses(object)];
  if (type.kind === 'CustomResourceDefinition') causes.push(...crdCauses(object));
  let result = object;
  if (type.schema) {
    const conformed = conformToSchema(object, type.schema);
    result = conformed.object as KObject;
    const unknown = strict ? droppedFields(object, result) : [];
    if (unknown.length) {
      throw badRequest(
        `strict decoding error: ${unknown.map((field) => `unknown field "${field}"`).join(', ')}`,
      );
    }
    causes.push(...conformed.causes);
  }
  if (causes.length) throw invalid(type, name, causes);
  return result;
};

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** Rejects a body whose apiVersion, kind, name or namespace contradict the request URL (400, as for real). */
export const checkBodyIdentity = (
  type: ResourceType,
  body: unknown,
  namespace: string | undefined,
  name: string | undefined,
): KObject => {
  if (!isObject(body)) throw badRequest('the body of the request must be a JSON or YAML object');
  const expected = apiVersionOf(type);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== expected) {
    throw badRequest(
      `the API version in the data (${text(body['apiVersion'])}) does not match the expected API version (${expected})`,
    );
  }
  if (body['kind'] !== undefined && body['kind'] !== type.kind) {
    throw badRequest(
      `the kind in the data (${text(body['kind'])}) does not match the expected kind (${type.kind})`,
    );
  }
  const metadata = isObject(body['metadata']) ? body['metadata'] : {};
  if (type.namespaced && metadata['namespace'] !== undefined && metadata['namespace'] !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (name !== undefined && metadata['name'] !== undefined && metadata['name'] !== name) {
    throw badRequest(
      `the name of the object (${text(metadata['name'])}) does not match the name on the URL (${name})`,
    );
  }
  const object = { ...body, apiVersion: expected, kind: type.kind, metadata: { ...metadata } } as KObject;
  if (type.namespaced && namespace) object.metadata.namespace = namespace;
  if (!type.namespaced) delete object.metadata.namespace;
  if (name !== undefined) object.metadata.name = name;
  return object;
};

export const internalError = (message: string): ApiStatusError =>
  new ApiStatusError(500, 'InternalError', message);
