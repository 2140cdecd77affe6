import type { KubeObject } from '../../../src/flux/kube-object.js';

export interface StatusFields {
  generation?: number;
  observedGeneration?: number;
  handled?: string;
  ready?: {
    status: 'True' | 'False' | 'Unknown';
    reason?: string;
    message?: string;
    observedGeneration?: number;
  };
  stalled?: { status: 'True' | 'False'; reason?: string; message?: string };
  revision?: string;
  lastAppliedRevision?: string;
}

/** A Flux object as the API returns it, with just the status fields a test cares about. */
export const fluxObject = (kind: 'OCIRepository' | 'Kustomization', fields: StatusFields): KubeObject => {
  const generation = fields.generation ?? 2;
  const conditions = [
    ...(fields.ready ? [{ type: 'Ready', observedGeneration: generation, ...fields.ready }] : []),
    ...(fields.stalled ? [{ type: 'Stalled', observedGeneration: generation, ...fields.stalled }] : []),
  ];
  return {
    apiVersion: kind === 'OCIRepository' ? 'source.toolkit.fluxcd.io/v1' : 'kustomize.toolkit.fluxcd.io/v1',
    kind,
    metadata: { name: 'app', namespace: 'flux-system', generation, resourceVersion: '10' },
    spec: {},
    status: {
      observedGeneration: fields.observedGeneration ?? generation,
      conditions,
      ...(fields.handled ? { lastHandledReconcileAt: fields.handled } : {}),
      ...(fields.revision ? { artifact: { revision: fields.revision } } : {}),
      ...(fields.lastAppliedRevision ? { lastAppliedRevision: fields.lastAppliedRevision } : {}),
    },
  };
};
