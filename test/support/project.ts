import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

export interface TestProject {
  dir: string;
  configPath: string;
  /** Absolute path of the source `app`. */
  sourceDir: string;
  project: string;
  repository: string;
  write(relativePath: string, content: string): Promise<void>;
  /** Removes the project directory; idempotent, for afterEach/afterAll. */
  remove(): Promise<void>;
}

/** A kustomization.yaml listing only configmap.yaml, as every test source holds. */
export const KUSTOMIZATION =
  'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - configmap.yaml\n';

let counter = 0;

/** A temporary project with one source `app` holding a valid ConfigMap, and a config pointing at `registryPort`. */
export const createTestProject = async (options: {
  registryPort: number;
  config?: Record<string, unknown>;
  source?: Record<string, unknown>;
  files?: Record<string, string>;
}): Promise<TestProject> => {
  const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-project-'));
  const project = `t${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const sourceDir = join(dir, 'app');
  const write = async (relativePath: string, content: string): Promise<void> => {
    const file = join(sourceDir, relativePath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  };
  const files = options.files ?? {
    'configmap.yaml': configMap('hello', { message: 'one' }),
    'kustomization.yaml': KUSTOMIZATION,
  };
  for (const [path, content] of Object.entries(files)) await write(path, content);
  const configPath = join(dir, 'ksail-fluxd.yaml');
  await writeFile(
    configPath,
    stringify({
      project,
      registryEnabled: false,
      registryPort: options.registryPort,
      sources: [{ name: 'app', path: './app', ...options.source }],
      ...options.config,
    }),
  );
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  return { dir, configPath, sourceDir, project, repository: `${project}/app`, write, remove };
};

/**
 * A ConfigMap manifest, in namespace `default` unless told otherwise: Flux's apply fails on a namespaced object
 * without one when the source sets no targetNamespace, and validation says so before a push.
 */
export const configMap = (name: string, data: Record<string, string>, namespace = 'default'): string =>
  stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
