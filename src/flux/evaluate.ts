import { compare, valid } from 'semver';
import { findCondition, type Condition } from '../model/flux-resources.js';
import { HELD_ANNOTATION } from './hold.js';
import { specTag, type KubeObject } from './kube-object.js';

/**
 * Pure evaluation of one observed object against what a reconciliation request waits for. The driver (wait.ts)
 * feeds it every object it sees; nothing here does I/O or reads the clock.
 *
 * What the real controllers write decides every rule here (source-controller v1.9, kustomize-controller v1.9):
 * - `status.lastHandledReconcileAt` is the requestedAt value the controller read when a reconcile started, written
 *   on success, on failure and on a suspended object (source-controller `summarize.RecordReconcileReq`,
 *   kustomize-controller `finalizeStatus`). Equal to our token means the verdict below answers our request.
 * - `status.observedGeneration` moves only on success (and on Stalled): a failure leaves it at the last good
 *   generation, or at the CRD default -1 for a new object. The Ready condition's own `observedGeneration` moves on
 *   every run (`conditions.Set`). So whether Ready is about the current spec is read from the condition.
 * - fluxcd/pkg/runtime's patch helper writes the conditions first and the rest of status (the token, the artifact,
 *   observedGeneration) in a second request (patch.go `Helper.Patch`): once our token is visible, the conditions
 *   beside it are already the ones of that run.
 */
export type Evaluation =
  | { state: 'done'; revision: string }
  | { state: 'pending'; seen: string }
  | { state: 'failed'; reason: string; message: string; retrying: boolean }
  /** `spec.suspend` set by the user: Flux records our token but fetches and applies nothing. */
  | { state: 'suspended' }
  /** A newer version took over: the source's tag moved on, or Flux applied a newer revision. */
  | { state: 'superseded'; by: string | undefined };

export interface Expectation {
  /** The requestedAt token written (none when Flux is left to act on its own, see below). */
  token: string | undefined;
  /** Source: the `<tag>@<digest>` it must serve, when known. Kustomization: the revision it must have applied. */
  revision?: string | undefined;
  /**
   * The revision was just pushed: Flux acts on it by itself (the tag patch is a spec change for
   * source-controller, and kustomize-controller re-runs when its source's revision changes), so Flux serving or
   * applying exactly this new revision answers the request without our token, and so does a failed attempt of it.
   * A stale verdict cannot name a revision that did not exist before. Never for a reconcile someone asked for:
   * that must be Flux's answer to the request.
   */
  fluxActsOnItsOwn?: boolean;
}

/**
 * Ready=False reasons that are the verdict on our request. `FetchFailed` is a condition type, never Ready's reason
 * (source-controller copies the FetchFailed condition's reason, e.g. OCIArtifactPullFailed, into Ready). Every one
 * of these is retried by Flux: source-controller with exponential backoff (controller-runtime's rate limiter),
 * kustomize-controller every `spec.retryInterval`. Only Stalled means Flux gave up until the spec changes.
 */
export const SOURCE_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'OCIArtifactPullFailed',
  'OCIArtifactLayerOperationFailed',
  'AuthenticationFailed',
  'ReadOperationFailed',
  'VerificationError',
  'StorageOperationFailed',
]);
export const KUSTOMIZATION_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'ReconciliationFailed',
  'BuildFailed',
  'HealthCheckFailed',
  'PruneFailed',
]);
/**
 * Not listed, so waited on: DependencyNotReady (a dependsOn that is not Ready yet; re-checked every 30 s), and
 * kustomize-controller's ArtifactFailed, which is transient: the source has no artifact yet, or the controller's cache has
 * not seen the new one (`Source artifact not found, retrying in 30s`). It re-runs when the source's revision
 * changes (its source watch), so the Kustomization may only be waiting for its source: keep waiting.
 */
const WAITING_FOR_SOURCE = 'ArtifactFailed';

/** Whether a condition was computed for the current spec; one without its own generation defers to the status. */
const conditionCurrent = (condition: Condition, object: KubeObject): boolean => {
  const generation = object.metadata.generation;
  if (generation === undefined) return true;
  return (condition.observedGeneration ?? object.status?.observedGeneration) === generation;
};

const describeCondition = (condition: Condition | undefined): string =>
  condition
    ? `${condition.status}${condition.reason ? ` ${condition.reason}` : ''}${condition.message ? `: ${condition.message}` : ''}`
    : 'not reported';

const describe = (object: KubeObject, expectation: Expectation, revision: string | undefined): string => {
  const status = object.status ?? {};
  const ready = findCondition(status.conditions, 'Ready');
  return [
    `lastHandledReconcileAt=${status.lastHandledReconcileAt ?? 'none'}${expectation.token ? ` (waiting for ${expectation.token})` : ''}`,
    `generation ${object.metadata.generation ?? 'unknown'}, Ready for generation ${ready?.observedGeneration ?? status.observedGeneration ?? 'none'}`,
    `Ready=${describeCondition(ready)}`,
    `revision=${revision ?? 'none'}${expectation.revision ? ` (waiting for ${expectation.revision})` : ''}`,
  ].join(', ');
};

/** The tag of a `<tag>@<digest>` revision. */
const tagOf = (revision: string): string => revision.split('@')[0] ?? revision;

/** -1, 0 or 1 as revision `a`'s tag sorts before, with or after `b`'s; 0 when either is not semver. */
const compareTags = (a: string, b: string): number => {
  const [left, right] = [valid(tagOf(a)), valid(tagOf(b))];
  return left && right ? compare(left, right) : 0;
};

type Verdict = Exclude<Evaluation, { state: 'pending' }> | undefined;

/** Stalled (no retry) or Ready=False with one of `reasons`, for the current spec and our request. */
const failureOf = (object: KubeObject, reasons: ReadonlySet<string>): Verdict => {
  const conditions = object.status?.conditions;
  const stalled = findCondition(conditions, 'Stalled');
  if (stalled?.status === 'True' && conditionCurrent(stalled, object)) {
    return {
      state: 'failed',
      reason: stalled.reason ?? 'Stalled',
      message: stalled.message ?? '',
      retrying: false,
    };
  }
  const ready = findCondition(conditions, 'Ready');
  if (ready?.status === 'False' && conditionCurrent(ready, object) && reasons.has(ready.reason ?? '')) {
    return {
      state: 'failed',
      reason: ready.reason ?? 'Failed',
      message: ready.message ?? '',
      retrying: true,
    };
  }
  return undefined;
};

const handledToken = (object: KubeObject, expectation: Expectation): boolean =>
  expectation.token !== undefined && object.status?.lastHandledReconcileAt === expectation.token;

const readyCurrent = (object: KubeObject): boolean => {
  const ready = findCondition(object.status?.conditions, 'Ready');
  return ready?.status === 'True' && conditionCurrent(ready, object);
};

/** OCIRepository: handled our token for the current spec, Ready=True, serving the expected revision. */
export const evaluateSource = (object: KubeObject | undefined, expectation: Expectation): Evaluation => {
  if (!object) return { state: 'pending', seen: 'the object does not exist' };
  if (object.spec?.suspend === true) return { state: 'suspended' };
  const revision = object.status?.artifact?.revision;
  const expected = expectation.revision;
  // Someone moved the tag after ours (a newer push, `push --version`, a user): Flux fetches that tag now.
  const tag = specTag(object);
  const moved = expected !== undefined && tag !== undefined && tag !== tagOf(expected) ? tag : undefined;
  if (moved !== undefined && compareTags(moved, expected ?? '') > 0)
    return { state: 'superseded', by: moved };
  const handled = handledToken(object, expectation);
  const own = expectation.fluxActsOnItsOwn === true && expected !== undefined && moved === undefined;
  if (!handled) {
    return own && readyCurrent(object) && revision === expected
      ? { state: 'done', revision }
      : { state: 'pending', seen: describe(object, expectation, revision) };
  }
  // Flux's verdict on the current spec, whichever tag it names.
  const failure = failureOf(object, SOURCE_FAILURE_REASONS);
  if (failure) return failure;
  if (readyCurrent(object) && revision !== undefined) {
    if (moved !== undefined) return { state: 'superseded', by: moved };
    if (expected === undefined || revision === expected) return { state: 'done', revision };
  }
  return { state: 'pending', seen: describe(object, expectation, revision) };
};

/**
 * Kustomization: handled our token for the current spec, Ready=True, applied the expected revision. Flux applies
 * whatever artifact its cache holds for the source, so a newer revision applied or attempted means a newer push
 * took over, and an older one means its cache has not caught up yet (it re-runs when it does).
 */
export const evaluateKustomization = (
  object: KubeObject | undefined,
  expectation: Expectation,
): Evaluation => {
  if (!object) return { state: 'pending', seen: 'the object does not exist' };
  const status = object.status ?? {};
  const revision = status.lastAppliedRevision;
  if (object.spec?.suspend === true) {
    // Our Manual-mode hold came back: a newer version was pushed and waits for the next trigger.
    return object.metadata.annotations?.[HELD_ANNOTATION] === 'true'
      ? { state: 'superseded', by: undefined }
      : { state: 'suspended' };
  }
  const expected = expectation.revision;
  const attempted = status.lastAttemptedRevision;
  const own = expectation.fluxActsOnItsOwn === true && expected !== undefined;
  // Without our token, only an attempt of the new revision is an answer (see Expectation.fluxActsOnItsOwn).
  if (!handledToken(object, expectation) && !(own && (attempted === expected || revision === expected))) {
    return { state: 'pending', seen: describe(object, expectation, revision) };
  }
  if (expected !== undefined && attempted !== undefined && compareTags(attempted, expected) > 0) {
    return { state: 'superseded', by: tagOf(attempted) };
  }
  const failure = failureOf(object, KUSTOMIZATION_FAILURE_REASONS);
  // A failure of an older attempt (the cache lag above) is not the verdict on this revision.
  if (failure && (expected === undefined || attempted === undefined || attempted === expected))
    return failure;
  if (readyCurrent(object) && revision !== undefined && (expected === undefined || revision === expected)) {
    return { state: 'done', revision };
  }
  const ready = findCondition(status.conditions, 'Ready');
  const waiting =
    ready?.reason === WAITING_FOR_SOURCE ? ' (Flux retries: it waits for the source artifact)' : '';
  return { state: 'pending', seen: `${describe(object, expectation, revision)}${waiting}` };
};
