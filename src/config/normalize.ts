import { unwrapSchema } from './schema-keys.js';

/**
 * A key written with no value (`cluster:` followed only by comments) is YAML null; it means "the defaults", as if
 * the key were absent (issue 9, §1.1). Nulls inside lists stay, so that `- ` with nothing after it is still an error.
 */
export const dropEmptyKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(dropEmptyKeys);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry !== null) result[key] = dropEmptyKeys(entry);
  }
  return result;
};

/**
 * Enum values are matched without regard to case, whether they come from the file, the environment or a flag
 * (issue 9, §2: `manual` and `Manual` are the same mode everywhere); the value becomes the schema's own spelling.
 * Walks the schema beside the value, so every enum of the config is covered without a list to keep up to date.
 */
export const normalizeEnums = (schema: unknown, value: unknown): unknown => {
  const def = defOf(unwrapSchema(schema));
  if (!def) return value;
  if (def.type === 'enum' && typeof value === 'string') {
    const options = Object.values(def.entries ?? {}).filter((v): v is string => typeof v === 'string');
    return options.find((option) => option.toLowerCase() === value.toLowerCase()) ?? value;
  }
  if (def.type === 'array' && Array.isArray(value)) {
    return value.map((item) => normalizeEnums(def.element, item));
  }
  if (def.shape && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const shape = def.shape as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(value).map(([key, entry]) => [
        key,
        shape[key] === undefined ? entry : normalizeEnums(shape[key], entry),
      ]),
    );
  }
  return value;
};

interface Def {
  type?: string;
  entries?: Record<string, unknown>;
  element?: unknown;
  shape?: unknown;
}

const defOf = (schema: unknown): Def | undefined =>
  (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
