import {
  durationOr,
  generationOrRequestChanged,
  hasFinalizer,
  objectKey,
  parseKey,
  patchStatus,
  REQUESTED_AT,
  setFinalizer,
  specOf,
  statusOf,
  WorkQueue,
  type ReconcileResult,
} from './controller-runtime.js';
import {
  conditionsOf,
  type ConditionState,
  getCondition,
  isStatus,
  progressiveStatus,
  removeCondition,
  setCondition,
  setSummary,
} from './flux-conditions.js';
import {
  FetchError,
  OCI_PULL_FAILED,
  pullArtifact,
  resolveArtifact,
  type OciReference,
} from './registry-pull.js';
import type { ObjectApi } from './object-api.js';
import type { StoreEvent } from './store.js';
import type { JsonObject, KObject, ResourceType } from './types.js';
import { clone, isObject, timestamp } from './types.js';

/**
 * source-controller for OCIRepository (source.toolkit.fluxcd.io/v1), following
 * internal/controller/ocirepository_controller.go (v1.9): `Reconcile` (finalizer pass, suspend, deletion),
 * `reconcile` (progressive status and the early patch), `reconcileStorage`, `reconcileSource`,
 * `reconcileArtifact`, and the deferred `SummarizeAndPatch` (internal/reconcile/summarize) with
 * `RecordReconcileReq` and `ComputeReconcileResult` (internal/reconcile/reconcile.go). Extracted files stay in
 * memory for the kustomize-controller.
 */
export const MANAGER = 'source-controller';
export const PULL_FAILED = OCI_PULL_FAILED;
const STORAGE_HOST = 'source-controller.flux-system.svc.cluster.local.';

/** ociRepositoryReadyCondition: what Ready summarizes, in priority order, and which types are negative. */
const READY_SUMMARY = {
  conditions: [
    'StorageOperationFailed',
    'FetchFailed',
    'ArtifactOutdated',
    'ArtifactInStorage',
    'SourceVerified',
    'Stalled',
    'Reconciling',
  ],
  negativePolarity: ['StorageOperationFailed', 'FetchFailed', 'ArtifactOutdated', 'Stalled', 'Reconciling'],
};

export interface SourceFaults {
  registryFailure(): string | undefined;
}

export interface StoredArtifact {
  revision: string;
  files: Map<string, Buffer>;
}

/** sreconcile.Result: ResultRequeue (the finalizer pass), ResultSuccess, ResultEmpty (failure or suspended). */
type Outcome = { result: 'requeue' | 'success' | 'empty'; error?: FetchError };

/** One reconcile's snapshot of the object and its working copy of the status. */
interface Run {
  object: KObject;
  status: JsonObject;
  generation: number;
  patch: () => void;
}

interface ArtifactStatus {
  revision?: string;
}

export class SourceController {
  readonly artifacts = new Map<string, StoredArtifact>();
  private readonly queue: WorkQueue;
  private readonly aborter = new AbortController();

  constructor(
    private readonly api: ObjectApi,
    private readonly endpoint: (hostPort: string) => string,
    private readonly faults: SourceFaults,
    onError: (error: unknown) => void,
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key), onError);
  }

  private type(): ResourceType | undefined {
    return this.api.typeOf('source.toolkit.fluxcd.io/v1', 'OCIRepository');
  }

  /** The controller's watch: `GenerationChangedPredicate OR ReconcileRequestedPredicate` (SetupWithManager). */
  onEvent(event: StoreEvent): void {
    const { object } = event;
    if (object.apiVersion !== 'source.toolkit.fluxcd.io/v1' || object.kind !== 'OCIRepository') return;
    const key = objectKey(object.metadata.namespace, object.metadata.name ?? '');
    if (event.type === 'DELETED') this.artifacts.delete(key);
    if (generationOrRequestChanged(event)) this.queue.add(key);
  }

  stop(): void {
    this.queue.stop();
    this.aborter.abort();
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    const type = this.type();
    const [namespace, name] = parseKey(key);
    const object = type && this.api.find(type, namespace, name);
    if (!type || !object) return {};
    if (object.metadata.deletionTimestamp) {
      // reconcileDelete: garbage-collect the stored artifacts, then release the object.
      this.artifacts.delete(key);
      setFinalizer(this.api, type, object, false, MANAGER);
      return {};
    }
    const status = clone(statusOf(object));
    const run: Run = {
      object,
      status,
      generation: object.metadata.generation ?? 0,
      patch: () => void patchStatus(this.api, type, object, MANAGER, status),
    };
    let outcome: Outcome = { result: 'empty' };
    if (!hasFinalizer(object)) {
      setFinalizer(this.api, type, object, true, MANAGER);
      outcome = { result: 'requeue' };
    } else if (specOf(object)['suspend'] !== true) {
      outcome = await this.reconcileSource(run, key);
      if (this.aborter.signal.aborted) return {};
    }
    return this.summarizeAndPatch(run, outcome);
  }

  /** The deferred SummarizeAndPatch: RecordReconcileReq, ComputeReconcileResult, the Ready summary, the patch. */
  private summarizeAndPatch(
    { object, status, generation, patch }: Run,
    { result, error }: Outcome,
  ): ReconcileResult {
    const token = object.metadata.annotations?.[REQUESTED_AT];
    if (token !== undefined) status['lastHandledReconcileAt'] = token;
    if (!error && result === 'success') removeCondition(status, 'Reconciling');
    const mark = (type: string, state: ConditionState): void => setCondition(status, type, state, generation);
    const reconciling = getCondition(status, 'Reconciling');
    if (reconciling?.status === 'True') {
      mark('Reconciling', { status: 'True', reason: 'ProgressingWithRetry', message: reconciling.message });
    }
    const stalled = error?.stalling === true && result === 'empty';
    if (stalled) {
      // MarkStalled also deletes Reconciling: Flux gave up until the spec or the request changes.
      mark('Stalled', { status: 'True', reason: error.reason, message: error.message });
      removeCondition(status, 'Reconciling');
    } else removeCondition(status, 'Stalled');
    // WithStatusObservedGeneration: on success, on the suspended no-op and on a stall, if anything was observed.
    const observed = stalled || (!error && result !== 'requeue');
    if (observed && conditionsOf(status).length) status['observedGeneration'] = generation;
    setSummary(status, 'Ready', READY_SUMMARY, generation);
    patch();
    if (stalled) return {};
    if (error || result === 'requeue') return { error: Boolean(error), requeue: result === 'requeue' };
    if (result === 'empty') return {};
    // isNonStalledSuccess with Ready not True is retried as an error.
    if (!isStatus(status, 'Ready', 'True')) return { error: true };
    return { requeueAfter: durationOr(specOf(object)['interval'], 0) };
  }

  private async reconcileSource(run: Run, key: string): Promise<Outcome> {
    const { object, status, generation, patch } = run;
    const spec = specOf(object);
    const url = String(spec['url']);
    progressiveStatus(status, false, 'Progressing', 'reconciliation in progress', generation);
    // The early patch: only for a new generation or a new request.
    if (generation !== status['observedGeneration']) {
      const message = `processing object: new generation ${String(status['observedGeneration'])} -> ${generation}`;
      progressiveStatus(status, false, 'Progressing', message, generation);
      patch();
    } else if (
      (object.metadata.annotations?.[REQUESTED_AT] ?? '') !== (status['lastHandledReconcileAt'] ?? '')
    ) {
      patch();
    }
    // reconcileStorage: no artifact yet.
    const artifact = isObject(status['artifact']) ? (status['artifact'] as ArtifactStatus) : undefined;
    if (!artifact) {
      progressiveStatus(status, true, 'Progressing', 'building artifact', generation);
      removeCondition(status, 'ArtifactInStorage');
      patch();
    }
    const mark = (type: string, state: ConditionState): void => setCondition(status, type, state, generation);
    const failed = (error: unknown): Outcome => {
      if (!(error instanceof FetchError)) throw error;
      mark('FetchFailed', { status: 'True', reason: error.reason, message: error.message });
      return { result: 'empty', error };
    };
    const ref = isObject(spec['ref']) ? spec['ref'] : {};
    const selector = isObject(spec['layerSelector']) ? spec['layerSelector'] : undefined;
    const options = {
      endpoint: this.endpoint,
      insecure: spec['insecure'] === true,
      signal: this.aborter.signal,
    };
    let resolved;
    try {
      const failure = this.faults.registryFailure();
      if (failure !== undefined)
        throw new FetchError(OCI_PULL_FAILED, `failed to determine artifact digest: ${failure}`);
      resolved = await resolveArtifact(url, referenceOf(ref), options);
    } catch (error) {
      return failed(error);
    }
    const { revision } = resolved;
    const configChanged =
      JSON.stringify(selector ?? null) !== JSON.stringify(status['observedLayerSelector'] ?? null);
    if (artifact?.revision !== revision || configChanged) {
      let pulled;
      let outcome: Outcome | undefined;
      try {
        pulled = await pullArtifact(url, resolved, {
          ...options,
          ...(typeof selector?.['mediaType'] === 'string' ? { layerMediaType: selector['mediaType'] } : {}),
        });
        removeCondition(status, 'FetchFailed');
      } catch (error) {
        outcome = failed(error);
      }
      if (this.aborter.signal.aborted) return { result: 'empty' };
      // The deferred observations about the revision in reconcileSource.
      if (artifact?.revision !== revision) {
        const message = `new revision '${revision}' for '${resolved.ref}'`;
        if (artifact) mark('ArtifactOutdated', { status: 'True', reason: 'NewRevision', message });
        progressiveStatus(status, true, 'Progressing', `building artifact: ${message}`, generation);
        patch();
      }
      if (outcome || !pulled) return outcome ?? { result: 'empty' };
      // reconcileArtifact: store it and advertise it (Storage.NewArtifactFor: <kind>/<ns>/<name>/<digest>.tar.gz).
      this.artifacts.set(key, { revision, files: pulled.files });
      const dir = `ocirepository/${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
      status['artifact'] = {
        digest: pulled.layerDigest,
        lastUpdateTime: timestamp(),
        ...(pulled.metadata ? { metadata: pulled.metadata } : {}),
        path: `${dir}/${resolved.digest}.tar.gz`,
        revision,
        size: pulled.size,
        url: `http://${STORAGE_HOST}/${dir}/${resolved.digest}.tar.gz`,
      };
      status['url'] = `http://${STORAGE_HOST}/${dir}/latest.tar.gz`;
      if (selector) status['observedLayerSelector'] = selector;
      else delete status['observedLayerSelector'];
    } else {
      // The artifact is up to date: nothing is pulled.
      removeCondition(status, 'FetchFailed');
    }
    // reconcileArtifact's deferred condition once the artifact matches the revision.
    removeCondition(status, 'ArtifactOutdated');
    const message = `stored artifact for digest '${revision}'`;
    mark('ArtifactInStorage', { status: 'True', reason: 'Succeeded', message });
    return { result: 'success' };
  }
}

/** getArtifactRef: digest, then semver, then tag, else `latest`. */
const referenceOf = (ref: JsonObject): OciReference => ({
  ...(typeof ref['tag'] === 'string' ? { tag: ref['tag'] } : {}),
  ...(typeof ref['digest'] === 'string' ? { digest: ref['digest'] } : {}),
  ...(typeof ref['semver'] === 'string' ? { semver: ref['semver'] } : {}),
});
