import { findCondition, type Condition } from '../model/flux-resources.js';
import type { KubeObject } from './kube-object.js';

/**
 * Pure evaluation of one observed object against what a reconciliation request waits for. The driver (wait.ts)
 * feeds it every object it sees; nothing here does I/O or reads the clock.
 */
export type Evaluation =
  | { state: 'done'; revision: string }
  | { state: 'pending'; seen: string }
  | { state: 'failed'; reason: string; message: string };

export interface Expectation {
  /** The requestedAt token written; the controller must have handled exactly this request. */
  token: string;
  /** Source: the `<tag>@<digest>` it must serve, when known. Kustomization: the revision it must have applied. */
  revision?: string | undefined;
}

/** Ready=False reasons after which Flux will not succeed without a change (FR-013). */
export const SOURCE_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'FetchFailed',
  'OCIArtifactPullFailed',
  'OCIArtifactLayerOperationFailed',
  'AuthenticationFailed',
  'URLInvalid',
]);
export const KUSTOMIZATION_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'ReconciliationFailed',
  'ArtifactFailed',
  'BuildFailed',
  'HealthCheckFailed',
  'PruneFailed',
]);

/** A condition about the current spec (conditions without observedGeneration count as current). */
const conditionCurrent = (condition: Condition, generation: number | undefined): boolean =>
  condition.observedGeneration === undefined ||
  generation === undefined ||
  condition.observedGeneration === generation;

const describeCondition = (condition: Condition | undefined): string =>
  condition
    ? `${condition.status}${condition.reason ? ` ${condition.reason}` : ''}${condition.message ? `: ${condition.message}` : ''}`
    : 'not reported';

const describe = (object: KubeObject, expectation: Expectation, revision: string | undefined): string => {
  const status = object.status ?? {};
  return [
    `lastHandledReconcileAt=${status.lastHandledReconcileAt ?? 'none'} (waiting for ${expectation.token})`,
    `observedGeneration=${status.observedGeneration ?? 'none'} of generation ${object.metadata.generation ?? 'unknown'}`,
    `Ready=${describeCondition(findCondition(status.conditions, 'Ready'))}`,
    `revision=${revision ?? 'none'}${expectation.revision ? ` (waiting for ${expectation.revision})` : ''}`,
  ].join(', ');
};

const evaluate = (
  object: KubeObject | undefined,
  expectation: Expectation,
  revisionOf: (object: KubeObject) => string | undefined,
  failureReasons: ReadonlySet<string>,
): Evaluation => {
  if (!object) return { state: 'pending', seen: 'the object does not exist' };
  const status = object.status ?? {};
  const generation = object.metadata.generation;
  const revision = revisionOf(object);
  const handled = status.lastHandledReconcileAt === expectation.token;
  const observedCurrent = generation === undefined || status.observedGeneration === generation;
  const ready = findCondition(status.conditions, 'Ready');
  const stalled = findCondition(status.conditions, 'Stalled');

  // Stalled means the controller gave up on this spec; it will not recover by waiting.
  if (stalled?.status === 'True' && observedCurrent && conditionCurrent(stalled, generation)) {
    return { state: 'failed', reason: stalled.reason ?? 'Stalled', message: stalled.message ?? '' };
  }
  // A Ready=False from before our request (or for an older spec) is stale: only fail on the answer to ours.
  if (
    ready?.status === 'False' &&
    handled &&
    observedCurrent &&
    conditionCurrent(ready, generation) &&
    failureReasons.has(ready.reason ?? '')
  ) {
    return { state: 'failed', reason: ready.reason ?? 'Failed', message: ready.message ?? '' };
  }
  const revisionOk =
    revision !== undefined && (expectation.revision === undefined || revision === expectation.revision);
  if (
    handled &&
    observedCurrent &&
    ready?.status === 'True' &&
    conditionCurrent(ready, generation) &&
    revisionOk
  ) {
    return { state: 'done', revision };
  }
  return { state: 'pending', seen: describe(object, expectation, revision) };
};

/** OCIRepository: handled our token, current generation, Ready=True, serving the expected revision. */
export const evaluateSource = (object: KubeObject | undefined, expectation: Expectation): Evaluation =>
  evaluate(object, expectation, (o) => o.status?.artifact?.revision, SOURCE_FAILURE_REASONS);

/** Kustomization: handled our token, current generation, Ready=True, applied the source's revision. */
export const evaluateKustomization = (object: KubeObject | undefined, expectation: Expectation): Evaluation =>
  evaluate(object, expectation, (o) => o.status?.lastAppliedRevision, KUSTOMIZATION_FAILURE_REASONS);
