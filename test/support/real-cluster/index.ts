import { readFileSync } from 'node:fs';
import { describe, inject } from 'vitest';
import { apiRequest } from './cluster.js';

/** What the tests get of the shared real cluster that the global set-up started. */
export interface RealClusterInfo {
  kubeconfigPath: string;
  server: string;
  token: string;
  caFile: string;
  storageUrl: string;
  /** The flux CLI built with the cluster. */
  fluxBinary: string;
  /** The processes' logs (etcd.log, kube-apiserver.log, source-controller.log, kustomize-controller.log). */
  logDir: string;
}

export const realCluster = (): RealClusterInfo | null => inject('realCluster');

/**
 * `describe` for tests that need the real cluster: skipped, saying why and how to enable it, when the global set-up
 * has none (never on CI, where a missing cluster fails the run).
 */
export const describeRealCluster = (name: string, body: (cluster: RealClusterInfo) => void): void => {
  const cluster = realCluster();
  if (cluster) describe(name, () => body(cluster));
  else describe.skip(`${name} (skipped: ${inject('realClusterMissing')})`, () => undefined);
};

/** A JSON request to the real API server (for test set-up and reads). */
export const realApi = (
  cluster: RealClusterInfo,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<{ status: number; body: unknown }> =>
  apiRequest(
    { server: cluster.server, token: cluster.token, ca: readFileSync(cluster.caFile) },
    method,
    path,
    body,
    contentType,
  );
