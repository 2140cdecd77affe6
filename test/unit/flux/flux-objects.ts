import type { KubeObject } from '../../../src/flux/kube-object.js';

type ConditionFields = {
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
};

export interface StatusFields {
  generation?: number;
  /** status.observedGeneration; real Flux leaves it at the last good generation (-1 when new) on failure. */
  observedGeneration?: number;
  handled?: string;
  /** The Ready condition; its observedGeneration defaults to the generation (Flux stamps it on every run). */
  ready?: ConditionFields;
  stalled?: ConditionFields;
  reconciling?: ConditionFields;
  revision?: string;
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  spec?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

/** A Flux object as the API returns it, with just the status fields a test cares about. */
export const fluxObject = (kind: 'OCIRepository' | 'Kustomization', fields: StatusFields): KubeObject => {
  const generation = fields.generation ?? 2;
  const condition = (type: string, value: ConditionFields | undefined) =>
    value ? [{ type, observedGeneration: generation, ...value }] : [];
  return {
    apiVersion: kind === 'OCIRepository' ? 'source.toolkit.fluxcd.io/v1' : 'kustomize.toolkit.fluxcd.io/v1',
    kind,
    metadata: {
      name: 'app',
      namespace: 'flux-system',
      generation,
      resourceVersion: '10',
      ...(fields.annotations ? { annotations: fields.annotations } : {}),
    },
    spec: fields.spec ?? {},
    status: {
      observedGeneration: fields.observedGeneration ?? generation,
      conditions: [
        ...condition('Reconciling', fields.reconciling),
        ...condition('Ready', fields.ready),
        ...condition('Stalled', fields.stalled),
      ],
      ...(fields.handled ? { lastHandledReconcileAt: fields.handled } : {}),
      ...(fields.revision ? { artifact: { revision: fields.revision } } : {}),
      ...(fields.lastAppliedRevision ? { lastAppliedRevision: fields.lastAppliedRevision } : {}),
      ...(fields.lastAttemptedRevision ? { lastAttemptedRevision: fields.lastAttemptedRevision } : {}),
    },
  };
};
