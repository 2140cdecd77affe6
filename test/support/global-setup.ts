import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { findClusterBinaries } from './real-cluster/binaries.js';
import { startRealCluster } from './real-cluster/cluster.js';
import { removeStaleClusters } from './real-cluster/processes.js';
import type { RealClusterInfo } from './real-cluster/index.js';
import { removeStaleShared, SHARED_LABEL, startTestRegistry } from './test-registry.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:<port>` of the shared real registry; each test uses its own repository in it. */
    registryEndpoint: string;
    registryKind: 'docker' | 'process';
    /** The shared real cluster (kube-apiserver, etcd, source-controller, kustomize-controller), or null. */
    realCluster: RealClusterInfo | null;
    /** Why there is no real cluster (only off CI: on CI a missing cluster fails the run). */
    realClusterMissing: string;
  }
}

/**
 * Starts one real registry and one real cluster for the integration project and stops them afterwards. Tests
 * remove their own containers by TEST_LABEL; the shared registry has its own label so that they never remove it.
 * The real cluster's binaries come from scripts/real-cluster/build.sh: on CI (`CI` set) missing binaries fail the
 * run; elsewhere the real-cluster tests skip and say how to build them. KSAIL_FLUXD_REAL_CLUSTER=off skips them
 * on purpose (never on CI).
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  await Promise.all([removeStaleShared(), removeStaleClusters()]);
  const registry = await startTestRegistry({ label: `${SHARED_LABEL}=${process.pid}` });
  project.provide('registryEndpoint', registry.endpoint);
  project.provide('registryKind', registry.kind);

  const ci = Boolean(process.env.CI);
  let missing = '';
  let cluster: Awaited<ReturnType<typeof startRealCluster>> | undefined;
  if (process.env.KSAIL_FLUXD_REAL_CLUSTER === 'off' && !ci) {
    missing = 'KSAIL_FLUXD_REAL_CLUSTER=off';
  } else {
    const lookup = await findClusterBinaries();
    if (lookup.found) {
      try {
        cluster = await startRealCluster(lookup.binaries);
      } catch (error) {
        await registry.close();
        throw error;
      }
    } else if (ci) {
      await registry.close();
      throw new Error(`CI is set, so the real-cluster tests must run: ${lookup.reason}`);
    } else {
      missing = lookup.reason;
      process.stderr.write(`\n[real cluster] skipping the real-cluster tests: ${missing}\n\n`);
    }
    if (cluster) {
      project.provide('realCluster', {
        kubeconfigPath: cluster.kubeconfigPath,
        server: cluster.server,
        token: cluster.token,
        caFile: cluster.caFile,
        storageUrl: cluster.storageUrl,
        fluxBinary: lookup.found ? lookup.binaries.path('flux') : '',
        logDir: cluster.dir,
      });
    }
  }
  if (!cluster) project.provide('realCluster', null);
  project.provide('realClusterMissing', missing);
  return async () => {
    await Promise.allSettled([registry.close(), cluster?.close()]);
  };
}
