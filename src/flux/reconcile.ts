import type { Clock } from '../clock.js';
import { mapLimited } from '../concurrency.js';
import { isKsailError, KsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { findCondition, ociRevision } from '../model/flux-resources.js';
import type { ReconciliationRequest } from '../model/reconciliation-request.js';
import { evaluateKustomization, evaluateSource } from './evaluate.js';
import { releaseKustomization } from './hold.js';
import { describeRef, REQUESTED_AT_ANNOTATION, type FluxKind } from './kinds.js';
import type { KubeAdapter } from './kube-adapter.js';
import type { KubeObject } from './kube-object.js';
import { httpStatusOf } from './kube-errors.js';
import type { RequestedAtTokens } from './requested-at.js';
import { withClusterRetry } from './retry.js';
import { waitForObject } from './wait.js';

export interface ReconcileResult {
  source: string;
  /** `<tag>@<digest>`: what the source serves and the Kustomization applied. */
  revision: string;
  durations: { source: number; kustomization: number };
}

export type ReconcileOutcome =
  ({ ok: true } & ReconcileResult) | { ok: false; source: string; error: KsailError };

export interface ReconcileOptions {
  clock: Clock;
  logger: Logger;
  tokens: RequestedAtTokens;
  /** Budget for one source, both objects together (flux.reconcileTimeout). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  pollIntervalMs?: number;
}

type Adapter = Pick<KubeAdapter, 'get' | 'watch' | 'mergePatch'>;

/** Writes a fresh requestedAt token on the object; Flux reconciles it now instead of at the next interval. */
const requestReconcile = async (
  adapter: Adapter,
  ref: { kind: FluxKind; namespace: string; name: string },
  options: ReconcileOptions,
): Promise<string> => {
  const token = options.tokens.next();
  try {
    await withClusterRetry(
      () =>
        adapter.mergePatch(ref.kind, ref.namespace, ref.name, {
          metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: token } },
        }),
      {
        clock: options.clock,
        logger: options.logger,
        what: `reconcile request for ${describeRef(ref)}`,
        signal: options.signal,
      },
    );
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
    throw new KsailError(
      'flux-invalid-reference',
      `${describeRef(ref)} does not exist, so it cannot be reconciled; run \`ksail-fluxd apply\` to create it`,
      { cause: error },
    );
  }
  return token;
};

/** Whether kustomize-controller already works on `revision` by itself (its message at the start of a run). */
const applyingAlready = (object: KubeObject | undefined, revision: string): boolean => {
  const status = object?.status;
  if (status?.lastAttemptedRevision === revision) return true;
  // kustomize-controller's reconcile() starts with Reconciling=True "Fetching manifests for revision <rev> ...".
  const reconciling = findCondition(status?.conditions, 'Reconciling');
  return reconciling?.status === 'True' && (reconciling.message ?? '').includes(revision);
};

export interface ReconcileTarget {
  namespace: string;
  source: string;
  /** The version the request knows was pushed, so the wait compares revisions. */
  expected?: { tag: string; digest: string } | undefined;
  /** `expected` was just pushed, and nobody asked to reconcile: see Expectation.fluxActsOnItsOwn. */
  pushed?: boolean;
}

/**
 * Reconciles one source like `flux reconcile kustomization <name> --with-source`: requests the OCIRepository,
 * waits until Flux handled that request and serves the artifact (the expected `<tag>@<digest>` when known), then
 * does the same for the Kustomization and waits until it applied that revision.
 *
 * After a push, Flux acts by itself (the tag patch is a spec change; a new source revision re-runs the
 * Kustomization): a controller that already serves or applies the new revision gets no request, since a second
 * requestedAt during its run would queue a second, useless run (a full apply) that the next save would wait behind.
 */
export const reconcileSource = async (
  adapter: Adapter,
  target: ReconcileTarget,
  options: ReconcileOptions,
): Promise<ReconcileResult> => {
  const { clock } = options;
  const started = clock.now();
  const remaining = (): number => Math.max(0, options.timeoutMs - (clock.now() - started));
  const common = {
    adapter,
    clock,
    logger: options.logger,
    signal: options.signal,
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  };
  const expectedRevision = target.expected
    ? ociRevision(target.expected.tag, target.expected.digest)
    : undefined;
  const own = target.pushed === true && expectedRevision !== undefined;
  const sourceRef = { kind: 'OCIRepository' as const, namespace: target.namespace, name: target.source };
  const sourceServes =
    own &&
    evaluateSource(await adapter.get(sourceRef.kind, sourceRef.namespace, sourceRef.name), {
      token: undefined,
      revision: expectedRevision,
      fluxActsOnItsOwn: true,
    }).state === 'done';
  const sourceToken = sourceServes ? undefined : await requestReconcile(adapter, sourceRef, options);
  const revision = await waitForObject({
    ...common,
    ref: sourceRef,
    timeoutMs: remaining(),
    evaluate: (object) =>
      evaluateSource(object, { token: sourceToken, revision: expectedRevision, fluxActsOnItsOwn: own }),
  });
  const sourceDone = clock.now();

  const kustomizationRef = {
    kind: 'Kustomization' as const,
    namespace: target.namespace,
    name: target.source,
  };
  // A Manual-mode hold ends here, once the source serves the revision to apply.
  await releaseKustomization(adapter, {
    namespace: target.namespace,
    name: target.source,
    clock,
    logger: options.logger,
    signal: options.signal,
  });
  const busy =
    own &&
    applyingAlready(
      await adapter.get(kustomizationRef.kind, kustomizationRef.namespace, kustomizationRef.name),
      revision,
    );
  const kustomizationToken = busy ? undefined : await requestReconcile(adapter, kustomizationRef, options);
  await waitForObject({
    ...common,
    ref: kustomizationRef,
    timeoutMs: remaining(),
    evaluate: (object) =>
      evaluateKustomization(object, { token: kustomizationToken, revision, fluxActsOnItsOwn: own }),
  });
  const durations = { source: sourceDone - started, kustomization: clock.now() - sourceDone };
  options.logger.debug('reconciled source', {
    source: target.source,
    revision,
    requested: { source: sourceToken !== undefined, kustomization: kustomizationToken !== undefined },
    sourceMs: durations.source,
    kustomizationMs: durations.kustomization,
  });
  return { source: target.source, revision, durations };
};

/** The source names a request targets: our OCIRepository and Kustomization of a source share its name. */
export const requestSources = (request: ReconciliationRequest): { namespace: string; source: string }[] => {
  const seen = new Map<string, { namespace: string; source: string }>();
  for (const target of request.targets) {
    seen.set(`${target.namespace}/${target.name}`, { namespace: target.namespace, source: target.name });
  }
  return [...seen.values()];
};

/**
 * Runs a ReconciliationRequest: every targeted source, `concurrency` at a time. One source failing does not stop
 * the others; each gets an outcome.
 */
export const reconcileRequest = async (
  adapter: Adapter,
  request: ReconciliationRequest,
  options: ReconcileOptions & { concurrency?: number },
): Promise<ReconcileOutcome[]> => {
  const targets = requestSources(request);
  return mapLimited(targets, options.concurrency ?? 2, async (target): Promise<ReconcileOutcome> => {
    try {
      const expected = request.expected?.[target.source];
      const result = await reconcileSource(
        adapter,
        { ...target, expected, pushed: request.origin === 'push' && expected !== undefined },
        options,
      );
      return { ok: true, ...result };
    } catch (error) {
      const wrapped = isKsailError(error)
        ? error
        : new KsailError('internal', `reconciling ${target.source} failed unexpectedly: ${String(error)}`, {
            cause: error,
          });
      return { ok: false, source: target.source, error: wrapped };
    }
  });
};
