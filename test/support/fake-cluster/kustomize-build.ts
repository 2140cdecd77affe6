import { posix } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { JsonObject, KObject } from './types.js';
import { isObject } from './types.js';

/**
 * The slice of `kustomize build` the kustomize-controller emulation needs: a directory with a
 * kustomization.yaml contributes its `resources` (files or directories, recursively) and applies its
 * `namespace`; a directory without one contributes every .yaml/.yml file below it, which is what Flux's
 * generated kustomization does. Patches, generators, components and remote resources are not supported.
 */
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

const normalizeDir = (path: string): string => {
  const normalized = posix.normalize(path.replace(/^\.?\/*/, '') || '.');
  if (normalized.startsWith('..')) throw new BuildError(`path '${path}' is outside the artifact`);
  return normalized === '.' ? '' : normalized.replace(/\/$/, '');
};

const under = (dir: string, file: string): boolean => !dir || file.startsWith(`${dir}/`);

const parseDocuments = (file: string, content: Buffer): KObject[] => {
  const objects: KObject[] = [];
  for (const document of parseAllDocuments(content.toString('utf8'))) {
    if (document.errors.length) {
      throw new BuildError(`failed to parse ${file}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    }
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const items =
      isObject(value) && value['kind'] === 'List' && Array.isArray(value['items']) ? value['items'] : [value];
    for (const item of items) {
      if (
        !isObject(item) ||
        typeof item['apiVersion'] !== 'string' ||
        typeof item['kind'] !== 'string' ||
        !isObject(item['metadata']) ||
        typeof item['metadata']['name'] !== 'string'
      ) {
        throw new BuildError(`${file}: missing apiVersion, kind or metadata.name in a resource`);
      }
      objects.push(item as KObject);
    }
  }
  return objects;
};

const buildDir = (files: Map<string, Buffer>, dir: string, depth: number): KObject[] => {
  if (depth > 20) throw new BuildError(`kustomization nesting too deep at '${dir}'`);
  const kustomizationFile = KUSTOMIZATION_FILES.map((file) => (dir ? `${dir}/${file}` : file)).find((file) =>
    files.has(file),
  );
  if (!kustomizationFile) {
    return [...files.keys()]
      .filter((file) => under(dir, file) && /\.ya?ml$/.test(file))
      .sort()
      .flatMap((file) => parseDocuments(file, files.get(file)!));
  }
  const kustomization = parseYaml(files.get(kustomizationFile)!.toString('utf8')) as unknown;
  const spec: JsonObject = isObject(kustomization) ? kustomization : {};
  const resources = Array.isArray(spec['resources']) ? spec['resources'] : [];
  const objects = resources.flatMap((resource) => {
    if (typeof resource !== 'string' || /^[a-z]+:\/\//.test(resource)) {
      throw new BuildError(`${kustomizationFile}: unsupported resource ${JSON.stringify(resource)}`);
    }
    const target = posix.normalize(dir ? `${dir}/${resource}` : resource);
    if (target.startsWith('..'))
      throw new BuildError(`${kustomizationFile}: resource '${resource}' escapes the artifact`);
    const content = files.get(target);
    if (content) return parseDocuments(target, content);
    if ([...files.keys()].some((file) => under(target, file))) return buildDir(files, target, depth + 1);
    throw new BuildError(`accumulating resources: '${resource}' not found in ${dir || '.'}`);
  });
  const namespace = spec['namespace'];
  if (typeof namespace === 'string' && namespace) {
    for (const object of objects) if (object.kind !== 'Namespace') object.metadata.namespace = namespace;
  }
  return objects;
};

/** The objects `kustomize build <path>` would output for the artifact's files. */
export const buildManifests = (files: Map<string, Buffer>, path = './'): KObject[] => {
  const dir = normalizeDir(path);
  if (dir && ![...files.keys()].some((file) => under(dir, file))) {
    throw new BuildError(`kustomization path not found: stat ${dir}: no such file or directory`);
  }
  return buildDir(files, dir, 0);
};
