import { badRequest } from './api-status.js';
import type { KObject } from './types.js';

/**
 * Label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`) and field selectors on
 * metadata.name / metadata.namespace (`=`, `==`, `!=`), as list and watch take them.
 */
export type ObjectFilter = (object: KObject) => boolean;

const splitTerms = (selector: string): string[] => {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) terms.push(current.trim());
  return terms.filter(Boolean);
};

const labelTerm = (term: string): ObjectFilter => {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const [, key = '', operator, list = ''] = set;
    const values = list.split(',').map((value) => value.trim());
    return (object) => {
      const value = object.metadata.labels?.[key];
      return operator === 'in'
        ? value !== undefined && values.includes(value)
        : !values.includes(value ?? '\0');
    };
  }
  const comparison = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(term);
  if (comparison) {
    const [, key = '', operator, expected = ''] = comparison;
    return (object) => {
      const value = object.metadata.labels?.[key];
      return operator === '!=' ? value !== expected : value === expected;
    };
  }
  const exists = /^(!?)([^\s!=(),]+)$/.exec(term);
  if (exists) {
    const [, negate, key = ''] = exists;
    return (object) => (object.metadata.labels?.[key] !== undefined) !== (negate === '!');
  }
  throw badRequest(`unable to parse requirement: invalid label selector "${term}"`);
};

const FIELDS: Record<string, (object: KObject) => string> = {
  'metadata.name': (object) => object.metadata.name ?? '',
  'metadata.namespace': (object) => object.metadata.namespace ?? '',
};

const fieldTerm = (term: string): ObjectFilter => {
  const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
  const read = match ? FIELDS[match[1] ?? ''] : undefined;
  if (!match || !read) {
    throw badRequest(`field label not supported: ${match?.[1] ?? term}`);
  }
  const [, , operator, expected = ''] = match;
  return (object) => (operator === '!=' ? read(object) !== expected : read(object) === expected);
};

export const parseSelectors = (
  labelSelector?: string | null,
  fieldSelector?: string | null,
): ObjectFilter => {
  const filters = [
    ...splitTerms(labelSelector ?? '').map(labelTerm),
    ...splitTerms(fieldSelector ?? '').map(fieldTerm),
  ];
  return (object) => filters.every((filter) => filter(object));
};
