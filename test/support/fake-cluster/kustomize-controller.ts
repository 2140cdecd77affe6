import { ApiStatusError } from './api-status.js';
import {
  durationOr,
  generationOrRequestChanged,
  goDuration,
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
  getCondition,
  isStatus,
  removeCondition,
  setCondition,
  type ConditionState,
} from './flux-conditions.js';
import { applyManifests, inventoryOf, pruneInventory } from './kustomize-apply.js';
import { BuildError, buildManifests, PathNotFoundError, resolvePath } from './kustomize-build.js';
import type { ObjectApi } from './object-api.js';
import type { StoredArtifact } from './source-controller.js';
import type { StoreEvent } from './store.js';
import type { JsonObject, KObject, ResourceType } from './types.js';
import { clone, isObject } from './types.js';

/**
 * kustomize-controller for Kustomization (kustomize.toolkit.fluxcd.io/v1) with an OCIRepository source, following
 * internal/controller/kustomization_controller.go (v1.9.6): `Reconcile` (finalizer pass, suspend, getSource, the
 * artifact check), `reconcile` (fetch, build, apply, prune, with its progress patches) and the deferred
 * `finalizeStatus`; the source watch follows source_predicate.go and kustomization_indexers.go.
 */
const MANAGER = 'kustomize-controller';
/** `--requeue-dependency` default (main.go). */
const DEPENDENCY_REQUEUE_MS = 30_000;
const ORIGIN_REVISION = 'org.opencontainers.image.revision';

class ReconcileFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly requeueAfter?: number,
  ) {
    super(message);
  }
}

interface SourceArtifact {
  revision: string;
  metadata?: Record<string, string>;
}

const artifactOf = (source: KObject | undefined): SourceArtifact | undefined => {
  const artifact = source ? statusOf(source)['artifact'] : undefined;
  return isObject(artifact) && typeof artifact['revision'] === 'string'
    ? (artifact as unknown as SourceArtifact)
    : undefined;
};

/** GetTimeout: spec.timeout, else interval - 30s; at least 30s. */
const timeoutOf = (spec: JsonObject): number =>
  Math.max(30_000, durationOr(spec['timeout'], durationOr(spec['interval'], 0) - 30_000));

export class KustomizeController {
  private readonly queue: WorkQueue;

  constructor(
    private readonly api: ObjectApi,
    private readonly artifacts: ReadonlyMap<string, StoredArtifact>,
    onError: (error: unknown) => void,
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key), onError);
  }

  private type(): ResourceType | undefined {
    return this.api.typeOf('kustomize.toolkit.fluxcd.io/v1', 'Kustomization');
  }

  private sourceOf(kustomization: KObject): {
    kind: string;
    namespace: string;
    name: string;
    object?: KObject;
  } {
    const ref = isObject(specOf(kustomization)['sourceRef'])
      ? (specOf(kustomization)['sourceRef'] as JsonObject)
      : {};
    const namespace =
      typeof ref['namespace'] === 'string' ? ref['namespace'] : (kustomization.metadata.namespace ?? '');
    const name = typeof ref['name'] === 'string' ? ref['name'] : '';
    const kind = typeof ref['kind'] === 'string' ? ref['kind'] : '';
    const sourceType = this.api.typeOf('source.toolkit.fluxcd.io/v1', 'OCIRepository');
    const object =
      kind === 'OCIRepository' && sourceType ? this.api.find(sourceType, namespace, name) : undefined;
    return { kind, namespace, name, ...(object ? { object } : {}) };
  }

  /**
   * The Kustomization watch (ksPredicate) and the source watch: SourceRevisionChangePredicate (creates, deletes,
   * an artifact appearing or changing revision), mapped by requestsForRevisionChangeOf to the Kustomizations of
   * that source that are neither Ready nor Reconciling at that revision already.
   */
  onEvent(event: StoreEvent): void {
    const { object } = event;
    const type = this.type();
    if (!type) return;
    if (object.apiVersion === 'kustomize.toolkit.fluxcd.io/v1' && object.kind === 'Kustomization') {
      if (generationOrRequestChanged(event))
        this.queue.add(objectKey(object.metadata.namespace, object.metadata.name ?? ''));
      return;
    }
    if (object.apiVersion !== 'source.toolkit.fluxcd.io/v1' || object.kind !== 'OCIRepository') return;
    const artifact = artifactOf(object);
    if (!artifact) return;
    const before = artifactOf(event.previous);
    if (event.type === 'MODIFIED' && before?.revision === artifact.revision) return;
    for (const kustomization of this.api.store.list(type.group, type.kind)) {
      const source = this.sourceOf(kustomization);
      if (source.namespace !== object.metadata.namespace || source.name !== object.metadata.name) continue;
      const status = statusOf(kustomization);
      const settled = isStatus(status, 'Ready', 'True') || isStatus(status, 'Reconciling', 'True');
      if (settled && status['lastAttemptedRevision'] === artifact.revision) continue;
      this.queue.add(objectKey(kustomization.metadata.namespace, kustomization.metadata.name ?? ''));
    }
  }

  stop(): void {
    this.queue.stop();
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    await Promise.resolve();
    const type = this.type();
    const [namespace, name] = parseKey(key);
    const object = type && this.api.find(type, namespace, name);
    if (!type || !object) return {};
    const spec = specOf(object);
    if (object.metadata.deletionTimestamp) {
      // finalize: prune the inventory (finalizerShouldDeleteResources: not when suspended), release the object.
      if (spec['prune'] === true && spec['suspend'] !== true)
        pruneInventory(this.api, inventoryOf(object), [], object);
      setFinalizer(this.api, type, object, false, MANAGER);
      return {};
    }
    const status = clone(statusOf(object));
    const generation = object.metadata.generation ?? 0;
    const patch = (): void => void patchStatus(this.api, type, object, MANAGER, status);
    const mark = (kind: string, state: ConditionState): void => setCondition(status, kind, state, generation);
    let result: ReconcileResult = {};
    if (!hasFinalizer(object)) {
      setFinalizer(this.api, type, object, true, MANAGER);
      result = { requeue: true };
    } else if (spec['suspend'] !== true) {
      try {
        result = this.reconcileSource(object, status, generation, patch);
      } catch (error) {
        if (!(error instanceof ReconcileFailure)) throw error;
        mark('Ready', { status: 'False', reason: error.reason, message: error.message });
        result = {
          requeueAfter:
            error.requeueAfter ?? durationOr(spec['retryInterval'], durationOr(spec['interval'], 0)),
        };
      }
    }
    // finalizeStatus: the request is recorded on every run; observedGeneration moves only when Ready is True.
    const token = object.metadata.annotations?.[REQUESTED_AT];
    if (token !== undefined) status['lastHandledReconcileAt'] = token;
    if (isStatus(status, 'Ready', 'True')) {
      removeCondition(status, 'Reconciling');
      status['observedGeneration'] = generation;
    }
    const reconciling = getCondition(status, 'Reconciling');
    if (isStatus(status, 'Ready', 'False') && reconciling) {
      mark('Reconciling', {
        status: reconciling.status,
        reason: 'ProgressingWithRetry',
        message: reconciling.message,
      });
    }
    patch();
    return result;
  }

  /** From getSource to the end of `reconcile`; a failure throws a ReconcileFailure with Ready's reason. */
  private reconcileSource(
    object: KObject,
    status: JsonObject,
    generation: number,
    patch: () => void,
  ): ReconcileResult {
    const spec = specOf(object);
    const source = this.sourceOf(object);
    if (!source.object) {
      // The cache reader's NotFound error, formatted with the kind as resource.
      throw new ReconcileFailure(
        'ArtifactFailed',
        `${source.kind}.source.toolkit.fluxcd.io "${source.name}" not found`,
      );
    }
    const artifact = artifactOf(source.object);
    if (!artifact) {
      throw new ReconcileFailure(
        'ArtifactFailed',
        'Source artifact not found, retrying in 30s',
        DEPENDENCY_REQUEUE_MS,
      );
    }
    const { revision } = artifact;
    const mark = (kind: string, state: ConditionState): void => setCondition(status, kind, state, generation);
    const progress = (step: string): void => {
      const message = `${step} for revision ${revision} with a timeout of ${goDuration(timeoutOf(spec))}`;
      mark('Reconciling', { status: 'True', reason: 'Progressing', message });
      patch();
    };
    mark('Ready', { status: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress' });
    progress('Fetching manifests');
    const stored = this.artifacts.get(objectKey(source.namespace, source.name));
    if (!stored || stored.revision !== revision) {
      // The artifact URL answers 404 (fetch.ErrFileNotFound).
      throw new ReconcileFailure(
        'ArtifactFailed',
        'Source is not ready, artifact not found, retrying in 30s',
        DEPENDENCY_REQUEUE_MS,
      );
    }
    let dir: string;
    try {
      dir = resolvePath(stored.files, typeof spec['path'] === 'string' ? spec['path'] : './');
    } catch (error) {
      if (error instanceof PathNotFoundError) throw new ReconcileFailure('ArtifactFailed', error.message);
      throw error;
    }
    status['lastAttemptedRevision'] = revision;
    progress('Building manifests');
    let manifests: KObject[];
    try {
      manifests = buildManifests(stored.files, dir);
    } catch (error) {
      if (error instanceof BuildError) throw new ReconcileFailure('BuildFailed', error.message);
      throw error;
    }
    progress('Detecting drift');
    let entries;
    try {
      entries = applyManifests(this.api, manifests, object, MANAGER);
    } catch (error) {
      // `%w\n%s`: the error, then the change set of a partial apply (none here).
      if (error instanceof ApiStatusError)
        throw new ReconcileFailure('ReconciliationFailed', `${error.message}\n`);
      throw error;
    }
    status['inventory'] = { entries };
    if (spec['prune'] === true) pruneInventory(this.api, inventoryOf(object), entries, object);
    status['lastAppliedRevision'] = revision;
    const origin = artifact.metadata?.[ORIGIN_REVISION];
    if (origin) status['lastAppliedOriginRevision'] = origin;
    else delete status['lastAppliedOriginRevision'];
    mark('Ready', {
      status: 'True',
      reason: 'ReconciliationSucceeded',
      message: `Applied revision: ${revision}`,
    });
    return { requeueAfter: durationOr(spec['interval'], 0) };
  }
}
