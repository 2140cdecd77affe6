import type { z } from 'zod';

/**
 * The keys an object schema allows at a config path, for "did you mean" suggestions. Walks through zod wrappers
 * (default, prefault, optional, pipes, refinements) and arrays. Returns [] when the path is not an object.
 */
export const allowedKeysAt = (schema: z.ZodType, path: readonly PropertyKey[]): string[] => {
  let current: unknown = schema;
  for (const segment of [...path, undefined]) {
    current = unwrapSchema(current);
    if (segment === undefined) break;
    const def = defOf(current);
    if (def?.type === 'array') {
      current = def.element;
      if (typeof segment === 'number') continue;
      current = unwrapSchema(current);
    }
    const shape = defOf(current)?.shape as Record<string, unknown> | undefined;
    if (!shape || typeof segment !== 'string') return [];
    current = shape[segment];
  }
  const shape = defOf(current)?.shape as Record<string, unknown> | undefined;
  return shape ? Object.keys(shape) : [];
};

interface Def {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  shape?: unknown;
}

const defOf = (schema: unknown): Def | undefined =>
  (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** The schema inside zod's wrappers (default, prefault, optional, pipes, refinements). */
export const unwrapSchema = (schema: unknown): unknown => {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(current);
    if (!def) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else return current;
  }
  return current;
};
