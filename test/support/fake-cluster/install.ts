import { loadFluxCrds } from './flux-crds.js';
import type { ObjectApi } from './object-api.js';
import { BUILTIN_TYPES, CRD_TYPE, NAMESPACE_TYPE } from './resource-types.js';
import type { KObject } from './types.js';

/** What a fresh cluster and `flux install` leave behind, as far as clients can observe it. */
const DEPLOYMENT_TYPE = BUILTIN_TYPES.find((type) => type.kind === 'Deployment')!;
const SYSTEM = { fieldManager: 'kube-apiserver' };
const FLUX = { fieldManager: 'flux' };

const ensureNamespace = (api: ObjectApi, name: string, labels: Record<string, string> = {}): void => {
  if (api.find(NAMESPACE_TYPE, undefined, name)) return;
  api.create(NAMESPACE_TYPE, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }, SYSTEM);
};

export const seedNamespaces = (api: ObjectApi): void => {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) ensureNamespace(api, name);
};

const controllerDeployment = (namespace: string, name: string): KObject => {
  const labels = { app: name, 'app.kubernetes.io/component': name, 'app.kubernetes.io/part-of': 'flux' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'manager', image: `ghcr.io/fluxcd/${name}:fake` }] },
      },
    },
  };
};

/** Installs Flux's CRDs and its namespace with available source- and kustomize-controller Deployments. */
export const installFlux = (
  api: ObjectApi,
  options: { crds?: boolean; namespace?: string } = {},
  crdDir?: string,
): void => {
  if (options.crds !== false) {
    for (const crd of loadFluxCrds(crdDir).crds as KObject[]) {
      if (!api.find(CRD_TYPE, undefined, crd.metadata.name ?? '')) api.create(CRD_TYPE, crd, FLUX);
    }
  }
  const namespace = options.namespace ?? 'flux-system';
  ensureNamespace(api, namespace, {
    'app.kubernetes.io/instance': namespace,
    'app.kubernetes.io/part-of': 'flux',
  });
  for (const name of ['source-controller', 'kustomize-controller']) {
    if (api.find(DEPLOYMENT_TYPE, namespace, name)) continue;
    const created = api.create(DEPLOYMENT_TYPE, controllerDeployment(namespace, name), FLUX);
    const ready = {
      replicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      updatedReplicas: 1,
      observedGeneration: 1,
    };
    api.update(
      DEPLOYMENT_TYPE,
      { ...created, status: ready },
      { fieldManager: 'kube-controller-manager', subresource: 'status' },
    );
  }
};
