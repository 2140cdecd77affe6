import { posix } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { JsonObject, KObject } from './types.js';
import { isObject } from './types.js';

/**
 * The slice of kustomize-controller's build the emulation needs (fluxcd/pkg/kustomize kustomize_generator.go,
 * `findOrGenerateKustomization` and `scanManifests`): a directory with a kustomization file is built from it (its
 * `resources`, files or directories that hold their own kustomization file, and its `namespace`); a directory
 * without one gets a generated kustomization listing, in walk order, every `.yaml`/`.yml` file below it (other
 * extensions, `.json` included, are skipped) and every subdirectory that holds a kustomization file, as one unit
 * and without descending into it. Patches, generators, components and remote resources are not supported.
 */
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Where kustomize-controller extracts the artifact (MkdirTempAbs), as its messages show file paths. */
const WORK_DIR = '/tmp/kustomization-0';

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

/** spec.path does not exist in the artifact (reported as ArtifactFailed, not BuildFailed). */
export class PathNotFoundError extends BuildError {}

const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

const under = (dir: string, file: string): boolean => !dir || file.startsWith(`${dir}/`);

/** Go's byte-wise string order, as filepath.Walk lists a directory. */
const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The names directly in `dir`, with whether each is a directory, in walk order. */
const entriesOf = (files: Map<string, Buffer>, dir: string): [string, boolean][] => {
  const entries = new Map<string, boolean>();
  for (const file of files.keys()) {
    if (!under(dir, file)) continue;
    const [head = '', ...rest] = file.slice(dir ? dir.length + 1 : 0).split('/');
    entries.set(head, entries.get(head) === true || rest.length > 0);
  }
  return [...entries].sort(([a], [b]) => byteOrder(a, b));
};

const kustomizationIn = (files: Map<string, Buffer>, dir: string): string | undefined =>
  KUSTOMIZATION_FILES.map((file) => join(dir, file)).find((file) => files.has(file));

const parseDocuments = (file: string, content: Buffer): KObject[] => {
  const objects: KObject[] = [];
  for (const document of parseAllDocuments(content.toString('utf8'))) {
    if (document.errors.length) {
      throw new BuildError(
        `failed to decode Kubernetes YAML from ${WORK_DIR}/${file}: ${document.errors[0]?.message ?? 'invalid YAML'}`,
      );
    }
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const items =
      isObject(value) && value['kind'] === 'List' && Array.isArray(value['items']) ? value['items'] : [value];
    for (const item of items) {
      const metadata = isObject(item) && isObject(item['metadata']) ? item['metadata'] : {};
      const missing = !isObject(item) || typeof item['kind'] !== 'string' ? 'kind' : undefined;
      const unnamed = typeof metadata['name'] !== 'string' ? 'metadata.name' : undefined;
      if (missing ?? unnamed) {
        throw new BuildError(
          `failed to decode Kubernetes YAML from ${WORK_DIR}/${file}: missing ${missing ?? unnamed} in object`,
        );
      }
      objects.push(item as KObject);
    }
  }
  return objects;
};

/** scanManifests: the resources of the kustomization Flux generates for `dir`. */
const scanManifests = (files: Map<string, Buffer>, dir: string): string[] =>
  entriesOf(files, dir).flatMap(([name, isDir]) => {
    const path = join(dir, name);
    if (isDir) return kustomizationIn(files, path) ? [path] : scanManifests(files, path);
    return posix.extname(name) === '.yaml' || posix.extname(name) === '.yml' ? [path] : [];
  });

const buildResource = (files: Map<string, Buffer>, path: string, from: string, depth: number): KObject[] => {
  const content = files.get(path);
  if (content) return parseDocuments(path, content);
  const kustomization = kustomizationIn(files, path);
  if (kustomization) return buildKustomization(files, path, kustomization, depth + 1);
  throw new BuildError(
    `kustomize build failed: accumulating resources: accumulation err='accumulating resources from '${from}': ` +
      `read ${path}: is a directory': couldn't make target for path '${path}': unable to find one of ` +
      `'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '${path}'`,
  );
};

const buildKustomization = (
  files: Map<string, Buffer>,
  dir: string,
  file: string,
  depth: number,
): KObject[] => {
  if (depth > 20) throw new BuildError(`kustomization nesting too deep at '${dir}'`);
  const parsed = parseYaml(files.get(file)?.toString('utf8') ?? '') as unknown;
  const spec: JsonObject = isObject(parsed) ? parsed : {};
  const resources = Array.isArray(spec['resources']) ? spec['resources'] : [];
  const objects = resources.flatMap((resource) => {
    if (typeof resource !== 'string' || /^[a-z]+:\/\//.test(resource)) {
      throw new BuildError(`${file}: unsupported resource ${JSON.stringify(resource)}`);
    }
    const target = posix.normalize(join(dir, resource));
    if (target.startsWith('..')) throw new BuildError(`${file}: resource '${resource}' escapes the artifact`);
    if (!files.has(target) && ![...files.keys()].some((name) => under(target, name))) {
      throw new BuildError(
        `kustomize build failed: accumulating resources: '${resource}' not found in ${dir || '.'}`,
      );
    }
    return buildResource(files, target, resource, depth);
  });
  const namespace = spec['namespace'];
  if (typeof namespace === 'string' && namespace) {
    for (const object of objects) if (object.kind !== 'Namespace') object.metadata.namespace = namespace;
  }
  return objects;
};

/** The directory of spec.path in the artifact; PathNotFoundError when it does not exist (the `os.Stat` check). */
export const resolvePath = (files: Map<string, Buffer>, path = './'): string => {
  const normalized = posix.normalize(path.replace(/^\.?\/*/, '') || '.');
  const dir = normalized === '.' ? '' : normalized.replace(/\/$/, '');
  if (dir.startsWith('..') || (dir && ![...files.keys()].some((file) => under(dir, file)))) {
    throw new PathNotFoundError(
      `kustomization path not found: stat ${WORK_DIR}/${dir}: no such file or directory`,
    );
  }
  return dir;
};

/** The objects kustomize-controller builds for the artifact directory `dir` (see resolvePath). */
export const buildManifests = (files: Map<string, Buffer>, dir: string): KObject[] => {
  const kustomization = kustomizationIn(files, dir);
  if (kustomization) return buildKustomization(files, dir, kustomization, 0);
  return scanManifests(files, dir).flatMap((resource) => buildResource(files, resource, `./${resource}`, 0));
};
