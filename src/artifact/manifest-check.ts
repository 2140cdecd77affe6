import { Document, isMap, isScalar, parseAllDocuments, parseDocument, type Node } from 'yaml';
import { locateJsonError } from './json-position.js';

/** How a file is checked: a Kubernetes object, a Kustomize config, or YAML that only has to parse (patches...). */
export type Role = 'object' | 'kustomization' | 'non-object';

/** A problem in one file, 1-based. */
export interface FileProblem {
  line: number;
  column: number;
  message: string;
}

type Found = [offset: number, message: string][];

const NEEDS = 'a Kubernetes manifest needs apiVersion, kind and metadata.name';

/** Offset to 1-based line and column; positions are only computed for problems, so the index is built lazily. */
export const positionsOf = (text: string): ((offset: number) => { line: number; column: number }) => {
  let starts: number[] | undefined;
  return (offset) => {
    if (!starts) {
      starts = [0];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    }
    // An error "at the end" of a file that ends in a newline belongs on its last line, not on a line past it.
    const at = offset >= text.length && text.endsWith('\n') ? text.length - 1 : Math.max(0, offset);
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= at) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: at - (starts[low] ?? 0) + 1 };
  };
};

const offsetOf = (node: unknown): number => (node as Node | undefined)?.range?.[0] ?? 0;

const describeNode = (node: unknown): string => (isScalar(node) ? 'a scalar' : 'a sequence');

const isEmptyDocument = (contents: unknown): boolean =>
  contents === null || contents === undefined || (isScalar(contents) && contents.value === null);

/** The Kubernetes object checks for one document's contents. */
const checkDocument = (contents: unknown, role: Role, found: Found): void => {
  if (role === 'non-object' || isEmptyDocument(contents)) return;
  if (!isMap(contents)) {
    const what = role === 'kustomization' ? 'a kustomization must be a mapping' : NEEDS;
    found.push([offsetOf(contents), `document is ${describeNode(contents)}, not a mapping; ${what}`]);
    return;
  }
  if (role === 'kustomization') return;
  const start = offsetOf(contents);
  const requireString = (parent: unknown, key: string, fallback: number, label = key): void => {
    const node = isMap(parent) ? parent.get(key, true) : undefined;
    if (node === undefined || (isScalar(node) && (node.value === null || node.value === ''))) {
      found.push([node === undefined ? fallback : offsetOf(node), `missing ${label}; ${NEEDS}`]);
    } else if (!isScalar(node) || typeof node.value !== 'string') {
      found.push([offsetOf(node), `${label} must be a string`]);
    }
  };
  requireString(contents, 'apiVersion', start);
  requireString(contents, 'kind', start);
  const kind = contents.get('kind');
  // kubectl's `kind: List` (and FooList) carry items instead of a name.
  if (typeof kind === 'string' && kind.endsWith('List')) return;
  const metadata = contents.get('metadata', true);
  if (metadata !== undefined && !isMap(metadata) && !isEmptyDocument(metadata)) {
    found.push([offsetOf(metadata), `metadata must be a mapping with a name; ${NEEDS}`]);
    return;
  }
  const metadataStart = metadata === undefined ? start : offsetOf(metadata);
  requireString(metadata, 'name', metadataStart, 'metadata.name');
};

/** The same rules on a plain JSON value, to skip building a YAML tree for the (usual) valid file. */
const isValidObject = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const object = value as Record<string, unknown>;
  const text = (field: unknown): field is string => typeof field === 'string' && field !== '';
  if (!text(object.apiVersion) || !text(object.kind)) return false;
  if (object.kind.endsWith('List')) return true;
  const metadata = object.metadata as Record<string, unknown> | null | undefined;
  return typeof metadata === 'object' && metadata !== null && text(metadata.name);
};

export interface ParsedYaml {
  documents: Document.Parsed[];
  problems: FileProblem[];
}

/** Parses YAML and checks each document for `role`. */
export const checkYaml = (text: string, role: Role): ParsedYaml => {
  const documents = parseAllDocuments(text, { prettyErrors: false });
  const found: Found = [];
  for (const doc of documents) {
    if (doc.errors.length > 0)
      found.push(...doc.errors.map((e): Found[number] => [e.pos[0], `invalid YAML: ${e.message}`]));
  }
  // Object checks on a file that does not parse would mostly report the syntax error again.
  if (found.length === 0) for (const doc of documents) checkDocument(doc.contents, role, found);
  return { documents: Array.from(documents), problems: toProblems(text, found) };
};

/** JSON must be strict JSON (YAML would accept trailing commas and more) and hold one Kubernetes object. */
export const checkJson = (text: string, role: Role): FileProblem[] => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const located = locateJsonError(text);
    const message = located?.message ?? (error instanceof Error ? error.message : 'not valid JSON');
    return toProblems(text, [[located?.offset ?? 0, `invalid JSON: ${message}`]]);
  }
  if (role === 'non-object' || isValidObject(value)) return [];
  // Valid JSON parses as YAML too, which gives positions; duplicate keys are the one thing YAML rejects.
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  const contents = doc.errors.length > 0 ? new Document(value).contents : doc.contents;
  const found: Found = [];
  checkDocument(contents, role, found);
  return toProblems(text, found);
};

const toProblems = (text: string, found: Found): FileProblem[] => {
  if (found.length === 0) return [];
  const at = positionsOf(text);
  return found
    .map(([offset, message]) => ({ ...at(offset), message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
};

export const decodeText = (content: Buffer): string => {
  const text = content.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
};
