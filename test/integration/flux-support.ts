import { inject } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/schema.js';
import { createKubeAdapter } from '../../src/flux/create-kube-adapter.js';
import type { KubeAdapter } from '../../src/flux/kube-adapter.js';
import { createSilentLogger } from '../../src/logger.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster/index.js';
import { configMap, createTestProject, KUSTOMIZATION, type TestProject } from '../support/project.js';
import { pushTestArtifact, type PushedTestArtifact } from '../support/push-test-artifact.js';

export const logger = createSilentLogger();

/** The shared real registry (`127.0.0.1:<port>`) and its port. */
export const registry = (): { endpoint: string; port: number } => {
  const endpoint = inject('registryEndpoint');
  return { endpoint, port: Number(endpoint.split(':').pop()) };
};

export interface FluxFixture {
  cluster: FakeCluster;
  project: TestProject;
  config: ResolvedConfig;
  adapter: KubeAdapter;
  /** Pushes the app source's manifests as `tag` (ConfigMap `hello` with data.message = `message`). */
  push(tag: string, message: string): Promise<PushedTestArtifact>;
  close(): Promise<void>;
}

/**
 * A fake cluster with Flux, a project whose source `app` targets namespace `default`, a config pointing at both,
 * and an adapter. `spec.url` uses `localhost:<port>`; the fake cluster maps it to the registry on 127.0.0.1.
 */
export const startFluxFixture = async (
  options: { flux?: boolean; config?: Record<string, unknown> } = {},
): Promise<FluxFixture> => {
  const { endpoint, port } = registry();
  const cluster = await startFakeCluster({ flux: options.flux ?? true });
  const project = await createTestProject({
    registryPort: port,
    source: { targetNamespace: 'default' },
    config: { cluster: { kubeconfig: cluster.kubeconfigPath }, fluxInterval: '10m', ...options.config },
  });
  const config = await loadConfig({ file: project.configPath, cwd: project.dir, env: {} });
  const adapter = createKubeAdapter({ kubeconfigPath: cluster.kubeconfigPath, env: {}, logger });
  return {
    cluster,
    project,
    config,
    adapter,
    push: (tag, message) =>
      pushTestArtifact({
        endpoint,
        repository: project.repository,
        tag,
        files: {
          'configmap.yaml': configMap('hello', { message }),
          'kustomization.yaml': KUSTOMIZATION,
        },
      }),
    close: async () => {
      adapter.close();
      await Promise.allSettled([cluster.close(), project.remove()]);
    },
  };
};

/** data.message of the ConfigMap Flux applied, if any. */
export const appliedMessage = (cluster: FakeCluster): string | undefined => {
  const object = cluster.get('v1', 'ConfigMap', 'default', 'hello') as
    { data?: { message?: string } } | undefined;
  return object?.data?.message;
};
