import { z } from 'zod';
import { KsailError } from '../errors.js';

/**
 * What ksail-fluxd reads from the Kubernetes API (a boundary, so validated with zod). Only the fields we rely on
 * are checked; everything else passes through untouched.
 */
export const KubeCondition = z.looseObject({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  observedGeneration: z.number().optional(),
  lastTransitionTime: z.string().optional(),
});
export type KubeCondition = z.infer<typeof KubeCondition>;

export const KubeMetadata = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type KubeMetadata = z.infer<typeof KubeMetadata>;

/** Status fields of OCIRepository and Kustomization that the wait logic reads. */
export const FluxStatus = z.looseObject({
  conditions: z.array(KubeCondition).optional(),
  observedGeneration: z.number().optional(),
  lastHandledReconcileAt: z.string().optional(),
  artifact: z.looseObject({ revision: z.string(), digest: z.string().optional() }).optional(),
  lastAppliedRevision: z.string().optional(),
  lastAttemptedRevision: z.string().optional(),
});
export type FluxStatus = z.infer<typeof FluxStatus>;

export const KubeObject = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: KubeMetadata,
  spec: z.record(z.string(), z.unknown()).optional(),
  status: FluxStatus.optional(),
});
export type KubeObject = z.infer<typeof KubeObject>;

export const KubeObjectList = z.looseObject({ items: z.array(KubeObject) });

/** Parses an API response; a malformed one is a cluster error that names what was wrong. */
export const parseKubeObject = (value: unknown, what: string): KubeObject => {
  const parsed = KubeObject.safeParse(value);
  if (!parsed.success) {
    throw new KsailError(
      'cluster-http',
      `the Kubernetes API returned an unexpected ${what}: ${parsed.error.issues[0]?.message ?? 'invalid'} at ${parsed.error.issues[0]?.path.join('.') ?? ''}; check that the cluster runs a supported Flux version`,
    );
  }
  return parsed.data;
};

/** spec.ref.tag of an OCIRepository, when set. */
export const specTag = (object: KubeObject | undefined): string | undefined => {
  const ref = object?.spec?.ref;
  if (typeof ref !== 'object' || ref === null) return undefined;
  const tag = (ref as Record<string, unknown>).tag;
  return typeof tag === 'string' ? tag : undefined;
};
