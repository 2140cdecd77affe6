import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ksailConfigLayer } from '../../src/config/effective.js';
import { parseKsailYaml, type KsailCluster } from '../../src/config/ksail-yaml.js';
import { createKubeAdapter } from '../../src/flux/create-kube-adapter.js';
import type { KubeAdapter } from '../../src/flux/kube-adapter.js';
import { warnAboutOverlaps } from '../../src/flux/overlap.js';
import { createSilentLogger, type Logger, type LogMeta } from '../../src/logger.js';
import { startFakeCluster } from '../support/fake-cluster/index.js';
import { describeRealCluster, realApi } from '../support/real-cluster/index.js';
import { uniqueName } from '../support/real-cluster/view.js';
import { testConfig } from './registry-runtime-support.js';

/** A logger that keeps the warnings it gets. */
const recording = (): { logger: Logger; warnings: { message: string; meta: LogMeta | undefined }[] } => {
  const warnings: { message: string; meta: LogMeta | undefined }[] = [];
  const logger = {
    ...createSilentLogger(),
    warn: (message: string, meta?: LogMeta) => warnings.push({ message, meta }),
  };
  return { logger, warnings };
};

interface Cluster {
  kubeconfigPath: string;
  /** Creates an object through the API server, as flux-operator would. */
  create(object: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/**
 * What flux-operator creates for a KSail cluster with Flux (../shared/reference/ksail.md): an OCIRepository and
 * a Kustomization named flux-system, pulling `oci://<cluster>-local-registry:5000/<source directory>` and applying
 * (and pruning) all of it.
 */
const ksailObjects = (namespace: string, clusterName: string) => [
  {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'flux-system', namespace },
    spec: {
      interval: '1m',
      url: `oci://${clusterName}-local-registry:5000/k8s`,
      ref: { tag: 'dev' },
      insecure: true,
    },
  },
  {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'flux-system', namespace },
    spec: {
      interval: '10m',
      path: './',
      prune: true,
      sourceRef: { kind: 'OCIRepository', name: 'flux-system' },
    },
  },
];

const overlapSuite = (start: () => Promise<Cluster & { namespace: string }>): void => {
  let cluster: Cluster & { namespace: string };
  let adapter: KubeAdapter;
  let ksail: KsailCluster;
  const clusterName = 'my-cluster';

  beforeAll(async () => {
    cluster = await start();
    for (const object of ksailObjects(cluster.namespace, clusterName)) await cluster.create(object);
    adapter = createKubeAdapter({
      kubeconfigPath: cluster.kubeconfigPath,
      env: {},
      logger: createSilentLogger(),
    });
    ksail = parseKsailYaml('/work/project/ksail.yaml', {
      apiVersion: 'ksail.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name: clusterName },
      spec: { cluster: { gitOpsEngine: 'Flux' } },
    });
  });
  afterAll(async () => {
    adapter.close();
    await cluster.close();
  });

  const config = (sources: Record<string, unknown>[]) =>
    testConfig(
      { ...ksailConfigLayer(ksail), flux: { namespace: cluster.namespace }, sources },
      '/work/project',
    );

  it('warns at start when a source lies under the path KSail’s flux-system applies, naming both and the fix', async () => {
    const { logger, warnings } = recording();
    const base = config([{ name: 'apps', path: 'k8s/apps' }]);
    const resolved = {
      ...base,
      sources: base.sources.map((s) => ({ ...s, absolutePath: join('/work/project', s.path) })),
    };
    const overlaps = await warnAboutOverlaps({ config: resolved, ksail, adapter, logger });
    expect(overlaps).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('will fight');
    expect(warnings[0]?.meta).toMatchObject({
      source: 'apps',
      sourcePath: '/work/project/k8s/apps',
      kustomization: `${cluster.namespace}/flux-system`,
      appliedPath: '/work/project/k8s',
      url: `oci://${clusterName}-local-registry:5000/k8s`,
    });
    expect(String(warnings[0]?.meta?.fix)).toContain(
      `flux suspend kustomization flux-system -n ${cluster.namespace}`,
    );
  });

  it('says nothing about a source outside that path', async () => {
    const { logger, warnings } = recording();
    const base = config([{ name: 'other', path: 'elsewhere' }]);
    const resolved = {
      ...base,
      sources: base.sources.map((s) => ({ ...s, absolutePath: join('/work/project', s.path) })),
    };
    expect(await warnAboutOverlaps({ config: resolved, ksail, adapter, logger })).toEqual([]);
    expect(warnings).toEqual([]);
  });
};

const postPath = (object: Record<string, unknown>, namespace: string): string => {
  const kind = object.kind as string;
  return kind === 'OCIRepository'
    ? `/apis/source.toolkit.fluxcd.io/v1/namespaces/${namespace}/ocirepositories`
    : `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${namespace}/kustomizations`;
};

describe('overlapping Kustomizations on the fake cluster', () => {
  overlapSuite(async () => {
    const fake = await startFakeCluster();
    return {
      namespace: 'flux-system',
      kubeconfigPath: fake.kubeconfigPath,
      create: async (object) => {
        const response = await fetch(`${fake.url}${postPath(object, 'flux-system')}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer fake-cluster-token' },
          body: JSON.stringify(object),
        });
        expect(response.status).toBe(201);
      },
      close: () => fake.close(),
    };
  });
});

describeRealCluster('overlapping Kustomizations on real Flux', (info) => {
  overlapSuite(async () => {
    const namespace = uniqueName('flux');
    await realApi(info, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    return {
      namespace,
      kubeconfigPath: info.kubeconfigPath,
      create: async (object) => {
        const body = { ...object, metadata: { ...(object.metadata as object), namespace } };
        const response = await realApi(info, 'POST', postPath(object, namespace), body);
        expect(response.status).toBe(201);
      },
      close: async () => {
        await realApi(info, 'DELETE', `/api/v1/namespaces/${namespace}`);
      },
    };
  });
});
