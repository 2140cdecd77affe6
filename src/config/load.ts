import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { KsailError } from '../errors.js';
import { validateRepository } from '../model/oci-artifact.js';
import { dropEmptyKeys, normalizeEnums } from './normalize.js';
import { allowedKeysAt } from './schema-keys.js';
import { Config, type ResolvedConfig } from './schema.js';
import { closest } from './suggest.js';

export const DEFAULT_CONFIG_FILE = 'ksail-fluxd.yaml';

/**
 * Environment variables the loader reads, after the file and before flags. Documented in the README's
 * configuration reference.
 */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  KSAIL_FLUXD_LOG_LEVEL: 'log.level',
  KSAIL_FLUXD_LOG_FORMAT: 'log.format',
  KSAIL_FLUXD_REGISTRY_PORT: 'registryPort',
  KSAIL_FLUXD_REGISTRY_RUNTIME: 'registry.runtime',
  KSAIL_FLUXD_MODE: 'flux.mode',
  KSAIL_FLUXD_SOCKET: 'socket.path',
  KSAIL_FLUXD_KUBECONFIG: 'cluster.kubeconfig',
  KSAIL_FLUXD_CONTEXT: 'cluster.context',
};

export interface LoadOptions {
  /** `--config`; else `KSAIL_FLUXD_CONFIG`; else `ksail-fluxd.yaml` in `cwd` when it exists. */
  file?: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Flag values by dotted key path (`log.level`, `flux.mode`); applied last. Undefined values are skipped. */
  overrides?: Record<string, unknown>;
  /**
   * Values under the file's, used only when no config file is found: a ksail.yaml's (src/config/effective.ts).
   * `origins` names where each dotted path came from, for error messages.
   */
  base?: { values: Record<string, unknown>; origins: ReadonlyMap<string, string> } | undefined;
}

/** Loads `ksail-fluxd.yaml`: file, then environment, then flags; validated, with errors that point at lines. */
export const loadConfig = async (options: LoadOptions): Promise<ResolvedConfig> => {
  const explicit = options.file ?? options.env.KSAIL_FLUXD_CONFIG;
  const file = resolve(options.cwd, explicit ?? DEFAULT_CONFIG_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || explicit !== undefined) {
      throw new KsailError(
        'config-not-found',
        `cannot read config file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); check --config, or copy config/ksail-fluxd.example.yaml to ${DEFAULT_CONFIG_FILE}`,
        { cause: error },
      );
    }
  }
  const lineCounter = new LineCounter();
  const doc = text === undefined ? undefined : parseDocument(text, { lineCounter, prettyErrors: false });
  const found = text === undefined ? undefined : file;
  const raw = doc ? fileValue(doc, lineCounter, file) : structuredClone(options.base?.values ?? {});
  const origins = new Map<string, string>(doc ? [] : options.base?.origins);
  for (const [variable, path] of Object.entries(ENV_KEYS)) {
    const value = options.env[variable];
    if (value !== undefined && value !== '') {
      setPath(raw, path, coerce(path, value));
      origins.set(path, `environment variable ${variable}`);
    }
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(raw, path, coerce(path, value));
    origins.set(path, `flag for ${path}`);
  }
  const input = normalizeEnums(Config, raw);
  const parsed = Config.safeParse(input);
  if (!parsed.success) {
    throw configError(parsed.error, { file: found ?? file, doc, lineCounter, origins, input });
  }
  const baseDir = found ? dirname(found) : options.cwd;
  const project = parsed.data.project ?? projectName(baseDir);
  return {
    ...parsed.data,
    project,
    file: found,
    baseDir,
    sources: parsed.data.sources.map((source, index) => {
      const repository = source.repository ?? `${project}/${source.name}`;
      try {
        validateRepository(repository);
      } catch (error) {
        throw new KsailError(
          'config-invalid',
          `${found ?? 'config'}: sources[${index}].repository: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return { ...source, repository, absolutePath: resolve(baseDir, source.path) };
    }),
  };
};

/** A project name from a directory name: lowercase, with only the characters a repository path allows. */
export const projectName = (dir: string): string =>
  basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'ksail';

const fileValue = (doc: Document, lineCounter: LineCounter, file: string): Record<string, unknown> => {
  const first = doc.errors[0];
  if (first) {
    const position = lineCounter.linePos(first.pos[0]);
    throw new KsailError(
      'config-invalid',
      `${file}:${position.line}:${position.col}: not valid YAML: ${first.message.split('\n')[0] ?? ''}; fix the syntax`,
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new KsailError(
      'config-invalid',
      `${file}: the config must be a mapping of keys such as sources and flux`,
    );
  }
  return dropEmptyKeys(value) as Record<string, unknown>;
};

const NUMBER_KEYS = new Set(['registryPort', 'ui.port']);

/** Environment values and flags are strings; turn them into what the schema expects (enums: normalizeEnums). */
const coerce = (path: string, value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  return NUMBER_KEYS.has(path) && /^\d+$/.test(value) ? Number(value) : value;
};

const setPath = (target: Record<string, unknown>, path: string, value: unknown): void => {
  const keys = path.split('.');
  let current = target;
  for (const key of keys.slice(0, -1)) {
    const next = current[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) current[key] = {};
    current = current[key] as Record<string, unknown>;
  }
  current[keys[keys.length - 1] ?? path] = value;
};

interface ErrorContext {
  file: string;
  doc: Document | undefined;
  lineCounter: LineCounter;
  origins: Map<string, string>;
  /** What was validated, to tell a missing key from a wrong value. */
  input: unknown;
}

const configError = (error: z.ZodError, context: ErrorContext): KsailError => {
  const lines = error.issues.map((issue) => describeIssue(issue, context));
  const header =
    lines.length === 1
      ? `invalid configuration in ${context.file}:`
      : `invalid configuration in ${context.file} (${lines.length} problems):`;
  return new KsailError('config-invalid', `${header}\n${lines.map((line) => `  ${line}`).join('\n')}`, {
    details: { problems: lines },
  });
};

const describeIssue = (issue: z.core.$ZodIssue, context: ErrorContext): string => {
  const path = issue.path;
  const dotted = formatPath(path);
  const origin = context.origins.get(dotted);
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(Config, path);
    return issue.keys
      .map((key) => {
        const where = locate(context, [...path, key], true);
        const suggestion = closest(key, allowed);
        const name = formatPath([...path, key]);
        return `${where}${name}: unknown key${suggestion ? `; did you mean "${suggestion}"?` : ''} (allowed: ${allowed.join(', ')})`;
      })
      .join('\n  ');
  }
  const key = path[path.length - 1];
  if (!origin && issue.code === 'invalid_type' && typeof key === 'string' && isMissing(context.input, path)) {
    // At the key when it is written with no value, else at the object that lacks it.
    return `${locate(context, path, true)}${dotted}: missing required key "${key}"`;
  }
  const where = origin ? `${origin}: ` : locate(context, path, false);
  return `${where}${dotted || '(root)'}: ${explain(issue)}`;
};

const explain = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_type':
      return `must be ${article(issue.expected === 'int' ? 'integer' : issue.expected)}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters long' : ''}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters long' : ''}`;
    default:
      return issue.message;
  }
};

const article = (noun: string): string => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

/** Whether the object at the path's parent exists and lacks the last key. */
const isMissing = (input: unknown, path: readonly PropertyKey[]): boolean => {
  let current = input;
  for (const key of path.slice(0, -1)) {
    if (typeof current !== 'object' || current === null) return false;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) return false;
  return (current as Record<PropertyKey, unknown>)[path[path.length - 1] as PropertyKey] === undefined;
};

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );

/** `file:line:col: ` of a key path, or of the nearest ancestor present in the file. */
const locate = (context: ErrorContext, path: readonly PropertyKey[], keyItself: boolean): string => {
  const { doc, lineCounter, file } = context;
  if (!doc) return `${file}: `;
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    const offset = keyItself && depth === path.length ? keyOffset(doc, prefix) : nodeOffset(doc, prefix);
    if (offset !== undefined) {
      const position = lineCounter.linePos(offset);
      return `${file}:${position.line}:${position.col}: `;
    }
  }
  return `${file}: `;
};

const nodeOffset = (doc: Document, path: readonly PropertyKey[]): number | undefined => {
  const node = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range?.[0];
};

const keyOffset = (doc: Document, path: readonly PropertyKey[]): number | undefined => {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1) as unknown[], true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === path[path.length - 1]);
  return isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
};
