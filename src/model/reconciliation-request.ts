import { KsailError } from '../errors.js';
import type { FluxObjectRef } from './flux-resources.js';

/** ReconciliationRequest (data model): a logical request to reconcile Flux sources. */
export type ReconcileMode = 'Automatic' | 'Manual';
export const RECONCILE_MODES: readonly ReconcileMode[] = ['Automatic', 'Manual'];

/** `superseded`: a newer push overtook the request before Flux applied its version. */
export type RequestOutcome = 'pending' | 'running' | 'succeeded' | 'failed' | 'superseded';

export interface ReconciliationRequest {
  id: string;
  targets: FluxObjectRef[];
  mode: ReconcileMode;
  /** RFC 3339 timestamp. */
  requestedAt: string;
  /** The version the request knows it pushed, per source name, so the wait can compare revisions. */
  expected?: Record<string, { tag: string; digest: string }>;
  /**
   * `push`: queued by the daemon after it pushed `expected` (Flux acts on a new tag by itself, so its own run on
   * that revision answers); `trigger`: someone asked to reconcile now, so only Flux handling our request answers.
   * Default `trigger`.
   */
  origin?: 'push' | 'trigger';
}

export const createRequest = (fields: ReconciliationRequest): ReconciliationRequest => {
  if (fields.targets.length === 0) {
    throw new KsailError('model-invalid', 'a reconciliation request needs at least one target');
  }
  if (Number.isNaN(Date.parse(fields.requestedAt))) {
    throw new KsailError('model-invalid', `requestedAt "${fields.requestedAt}" is not an RFC 3339 timestamp`);
  }
  return fields;
};

const key = (ref: FluxObjectRef): string => `${ref.kind}/${ref.namespace}/${ref.name}`;

/** Manual mode: pending requests for the same targets merge into one (issue #5). Keeps the earliest id and time. */
export const mergeRequests = (
  first: ReconciliationRequest,
  second: ReconciliationRequest,
): ReconciliationRequest => {
  const targets = new Map<string, FluxObjectRef>();
  for (const target of [...first.targets, ...second.targets]) targets.set(key(target), target);
  return {
    ...first,
    targets: [...targets.values()],
    expected: { ...first.expected, ...second.expected },
  };
};
