import { loadFluxCrds } from '../../support/fake-cluster/flux-crds.js';

/**
 * A small validator for the JSON-schema subset Kubernetes CRDs use (openAPIV3Schema): type, required,
 * properties, additionalProperties, enum, pattern, items, min/maxLength, minimum/maximum, anyOf/oneOf/allOf.
 * x-kubernetes-* keywords are ignored except int-or-string and preserve-unknown-fields. Stricter than the API
 * server on one point, on purpose: a field the schema does not know is an error here, because the API server
 * would silently prune it.
 */
export type Schema = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const typeOk = (type: string, value: unknown): boolean => {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    default:
      return true;
  }
};

export const validateSchema = (schema: Schema, value: unknown, path = ''): string[] => {
  const at = path || '<root>';
  const errors: string[] = [];
  if (schema['x-kubernetes-int-or-string'] === true) {
    return typeof value === 'string' || Number.isInteger(value)
      ? []
      : [`${at}: must be an integer or a string`];
  }
  if (typeof schema.type === 'string' && !typeOk(schema.type, value)) {
    return [`${at}: must be of type ${schema.type}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => option === value)) {
    errors.push(`${at}: must be one of ${schema.enum.map(String).join(', ')}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(`${at}: "${value}" does not match ${schema.pattern}`);
    }
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      errors.push(`${at}: too short`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
      errors.push(`${at}: too long`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      errors.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      errors.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    value.forEach((item, index) =>
      errors.push(...validateSchema(schema.items as Schema, item, `${path}[${index}]`)),
    );
  }
  if (isObject(value)) {
    for (const key of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
      if (!(key in value)) errors.push(`${path}.${key}: required`);
    }
    const properties = isObject(schema.properties) ? schema.properties : undefined;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = properties?.[key];
      if (isObject(childSchema)) {
        errors.push(...validateSchema(childSchema, child, `${path}.${key}`));
      } else if (isObject(schema.additionalProperties)) {
        errors.push(...validateSchema(schema.additionalProperties, child, `${path}.${key}`));
      } else if (
        schema.additionalProperties === false ||
        (properties && schema['x-kubernetes-preserve-unknown-fields'] !== true)
      ) {
        errors.push(`${path}.${key}: unknown field`);
      }
    }
  }
  for (const sub of Array.isArray(schema.allOf) ? (schema.allOf as Schema[]) : []) {
    errors.push(...validateSchema(sub, value, path));
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword];
    if (
      Array.isArray(options) &&
      !options.some((sub) => validateSchema(sub as Schema, value, path).length === 0)
    ) {
      errors.push(`${at}: matches none of ${keyword}`);
    }
  }
  return errors;
};

/**
 * The v1 openAPIV3Schema of each Flux kind in Flux's published CRDs (FLUX_CRD_DIR), or undefined when the files are
 * absent: the fake cluster's built-in stand-ins are too loose to check generated objects against.
 */
export const loadFluxCrdSchemas = (): Record<string, Schema> | undefined => {
  const { crds, source } = loadFluxCrds();
  if (source === 'builtin') return undefined;
  const schemas: Record<string, Schema> = {};
  for (const crd of crds as {
    spec?: { names?: { kind?: string }; versions?: Record<string, unknown>[] };
  }[]) {
    const v1 = crd.spec?.versions?.find((version) => version.name === 'v1');
    const schema = (v1?.schema as { openAPIV3Schema?: Schema } | undefined)?.openAPIV3Schema;
    if (crd.spec?.names?.kind && schema) schemas[crd.spec.names.kind] = schema;
  }
  return schemas;
};

const duration = { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$' };
const named = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };

/** The part of Flux's v1 schemas our objects touch, for when the CRD files are not available. */
export const ENCODED_FLUX_SCHEMAS: Record<string, Schema> = {
  OCIRepository: {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        required: ['interval', 'url'],
        properties: {
          url: { type: 'string', pattern: '^oci://.*$' },
          interval: duration,
          timeout: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$' },
          insecure: { type: 'boolean' },
          provider: { type: 'string', enum: ['generic', 'aws', 'azure', 'gcp'] },
          suspend: { type: 'boolean' },
          ref: {
            type: 'object',
            properties: {
              tag: { type: 'string' },
              digest: { type: 'string' },
              semver: { type: 'string' },
              semverFilter: { type: 'string' },
            },
          },
          secretRef: named,
        },
      },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  },
  Kustomization: {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        required: ['interval', 'prune', 'sourceRef'],
        properties: {
          interval: duration,
          retryInterval: duration,
          timeout: duration,
          path: { type: 'string' },
          prune: { type: 'boolean' },
          suspend: { type: 'boolean' },
          force: { type: 'boolean' },
          wait: { type: 'boolean' },
          targetNamespace: { type: 'string', minLength: 1, maxLength: 63 },
          sourceRef: {
            type: 'object',
            required: ['kind', 'name'],
            properties: {
              apiVersion: { type: 'string' },
              kind: {
                type: 'string',
                enum: ['OCIRepository', 'GitRepository', 'Bucket', 'ExternalArtifact'],
              },
              name: { type: 'string' },
              namespace: { type: 'string' },
            },
          },
        },
      },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  },
};
