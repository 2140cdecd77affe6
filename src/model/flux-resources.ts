import { KsailError } from '../errors.js';

/**
 * FluxOCIRepository and FluxKustomization (data model, "CRD model"): the fields we generate and read. The full
 * schemas are Flux's CRDs (source.toolkit.fluxcd.io/v1, kustomize.toolkit.fluxcd.io/v1).
 */
export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  resourceVersion?: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface FluxOCIRepository {
  apiVersion: 'source.toolkit.fluxcd.io/v1';
  kind: 'OCIRepository';
  metadata: ObjectMeta;
  spec: {
    url: string;
    interval: string;
    ref: { tag: string };
    insecure?: boolean;
  };
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    artifact?: { revision: string; digest?: string };
  };
}

export interface SourceRef {
  kind: 'OCIRepository';
  name: string;
  namespace?: string;
}

export interface FluxKustomization {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1';
  kind: 'Kustomization';
  metadata: ObjectMeta;
  spec: {
    sourceRef: SourceRef;
    path: string;
    prune: boolean;
    targetNamespace?: string;
    interval: string;
  };
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    lastHandledReconcileAt?: string;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
  };
}

/** Identifies a Flux object; a ReconciliationRequest targets one or more. */
export interface FluxObjectRef {
  kind: 'OCIRepository' | 'Kustomization';
  name: string;
  namespace: string;
}

/**
 * Data model rule: `FluxKustomization.spec.sourceRef` MUST reference an existing OCIRepository in the same
 * namespace. `existing` lists the OCIRepositories that exist (or are about to be applied).
 */
export const validateSourceRef = (
  kustomization: Pick<FluxKustomization, 'metadata' | 'spec'>,
  existing: readonly Pick<ObjectMeta, 'name' | 'namespace'>[],
): void => {
  const { sourceRef } = kustomization.spec;
  const namespace = kustomization.metadata.namespace;
  const name = `Kustomization ${namespace}/${kustomization.metadata.name}`;
  if (sourceRef.kind !== 'OCIRepository') {
    throw new KsailError('flux-invalid-reference', `${name}: sourceRef.kind must be OCIRepository`);
  }
  if (sourceRef.namespace !== undefined && sourceRef.namespace !== namespace) {
    throw new KsailError(
      'flux-invalid-reference',
      `${name}: sourceRef must be in the same namespace (${namespace}), not ${sourceRef.namespace}`,
    );
  }
  if (!existing.some((repo) => repo.name === sourceRef.name && repo.namespace === namespace)) {
    throw new KsailError(
      'flux-invalid-reference',
      `${name}: sourceRef names OCIRepository ${namespace}/${sourceRef.name}, which does not exist; apply the OCIRepository first (ksail-fluxd apply)`,
    );
  }
};

/** Flux's revision format for OCI artifacts: `<tag>@<manifest digest>`. */
export const ociRevision = (tag: string, manifestDigest: string): string => `${tag}@${manifestDigest}`;

export const findCondition = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((condition) => condition.type === type);
