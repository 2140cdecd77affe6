import type { StatusCause } from './api-status.js';
import type { JsonObject } from './types.js';
import { clone, isObject } from './types.js';

/**
 * The part of a CRD's structural OpenAPI v3 schema handling that the real API server does on every write:
 * prune unknown fields, apply defaults, then validate (type, required, pattern, enum, lengths, minimum).
 * CEL rules (x-kubernetes-validations) and formats are not checked.
 */
const ROOT_KEEP = new Set(['apiVersion', 'kind', 'metadata']);

const schemaOf = (value: unknown): JsonObject => (isObject(value) ? value : {});

const preservesUnknown = (schema: JsonObject): boolean =>
  schema['x-kubernetes-preserve-unknown-fields'] === true;

/** Drops fields the schema does not declare, like the API server's pruning of structural schemas. */
export const prune = (value: unknown, schema: JsonObject, root = false): unknown => {
  if (Array.isArray(value)) {
    const items = schemaOf(schema['items']);
    return value.map((item) => prune(item, items));
  }
  if (!isObject(value) || schema['x-kubernetes-embedded-resource'] === true) return value;
  const properties = isObject(schema['properties']) ? schema['properties'] : undefined;
  const additional = schema['additionalProperties'];
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (root && ROOT_KEEP.has(key)) result[key] = child;
    else if (properties && Object.hasOwn(properties, key))
      result[key] = prune(child, schemaOf(properties[key]));
    else if (isObject(additional)) result[key] = prune(child, additional);
    else if (additional === true || preservesUnknown(schema) || (!properties && !additional)) {
      result[key] = child;
    }
  }
  return result;
};

/** Fills absent properties that declare a `default`, recursively. */
export const applyDefaults = (value: unknown, schema: JsonObject): unknown => {
  if (Array.isArray(value)) return value.map((item) => applyDefaults(item, schemaOf(schema['items'])));
  if (!isObject(value)) return value;
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const result: JsonObject = { ...value };
  for (const [key, childSchema] of Object.entries(properties)) {
    const child = schemaOf(childSchema);
    if (result[key] === undefined && child['default'] !== undefined) result[key] = clone(child['default']);
    if (result[key] !== undefined) result[key] = applyDefaults(result[key], child);
  }
  return result;
};

const render = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

const typeName = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
};

const typeMatches = (expected: unknown, value: unknown, schema: JsonObject): boolean => {
  if (schema['x-kubernetes-int-or-string'] === true) {
    return typeof value === 'string' || Number.isInteger(value);
  }
  if (typeof expected !== 'string') return true;
  if (value === null) return schema['nullable'] === true;
  const actual = typeName(value);
  if (expected === 'number') return actual === 'number' || actual === 'integer';
  return actual === expected;
};

const validateValue = (value: unknown, schema: JsonObject, path: string, causes: StatusCause[]): void => {
  if (!typeMatches(schema['type'], value, schema)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: path,
      message: `Invalid value: "${typeName(value)}": ${path} in body must be of type ${String(schema['type'])}: "${typeName(value)}"`,
    });
    return;
  }
  const enumValues = Array.isArray(schema['enum']) ? schema['enum'] : undefined;
  if (enumValues && !enumValues.includes(value)) {
    causes.push({
      reason: 'FieldValueNotSupported',
      field: path,
      message: `Unsupported value: ${render(value)}: supported values: ${enumValues.map(render).join(', ')}`,
    });
  }
  if (typeof value === 'string') validateString(value, schema, path, causes);
  if (typeof value === 'number' && typeof schema['minimum'] === 'number' && value < schema['minimum']) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: path,
      message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema['minimum']}`,
    });
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) =>
      validateValue(item, schemaOf(schema['items']), `${path}[${index}]`, causes),
    );
  }
  if (isObject(value)) validateObject(value, schema, path, causes);
};

const validateString = (value: string, schema: JsonObject, path: string, causes: StatusCause[]): void => {
  const pattern = schema['pattern'];
  if (typeof pattern === 'string' && !new RegExp(pattern, 'u').test(value)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: path,
      message: `Invalid value: "${value}": ${path} in body should match '${pattern}'`,
    });
  }
  const min = schema['minLength'];
  if (typeof min === 'number' && value.length < min) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: path,
      message: `Invalid value: "${value}": ${path} in body should be at least ${min} chars long`,
    });
  }
  const max = schema['maxLength'];
  if (typeof max === 'number' && value.length > max) {
    causes.push({
      reason: 'FieldValueTooLong',
      field: path,
      message: `Too long: may not be more than ${max} bytes`,
    });
  }
};

const validateObject = (value: JsonObject, schema: JsonObject, path: string, causes: StatusCause[]): void => {
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  for (const key of required) {
    if (typeof key === 'string' && value[key] === undefined) {
      causes.push({
        reason: 'FieldValueRequired',
        field: path ? `${path}.${key}` : key,
        message: 'Required value',
      });
    }
  }
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const additional = schema['additionalProperties'];
  for (const [key, child] of Object.entries(value)) {
    if (!path && ROOT_KEEP.has(key)) continue;
    const childPath = path ? `${path}.${key}` : key;
    if (Object.hasOwn(properties, key)) validateValue(child, schemaOf(properties[key]), childPath, causes);
    else if (isObject(additional)) validateValue(child, additional, childPath, causes);
  }
};

/** Prunes, defaults and validates a custom resource against its version's schema. */
export const conformToSchema = (
  object: JsonObject,
  schema: JsonObject,
): { object: JsonObject; causes: StatusCause[] } => {
  const pruned = prune(object, schema, true) as JsonObject;
  const defaulted = applyDefaults(pruned, schema) as JsonObject;
  const causes: StatusCause[] = [];
  validateObject(defaulted, schema, '', causes);
  return { object: defaulted, causes };
};
