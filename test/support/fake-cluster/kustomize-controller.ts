import { ApiStatusError } from './api-status.js';
import type { Condition } from './controller-runtime.js';
import {
  durationOr,
  markProgressing,
  REQUESTED_AT,
  WorkQueue,
  objectKey,
  parseKey,
  removeCondition,
  setCondition,
  setFinalizer,
  specOf,
  statusOf,
  wantsReconcile,
  writeStatus,
} from './controller-runtime.js';
import { applyManifests, inventoryOf, pruneInventory, type InventoryEntry } from './kustomize-apply.js';
import { BuildError, buildManifests } from './kustomize-build.js';
import type { ObjectApi } from './object-api.js';
import type { StoredArtifact } from './source-controller.js';
import type { StoreEvent } from './store.js';
import type { KObject, ResourceType } from './types.js';
import { isObject } from './types.js';

/**
 * kustomize-controller for Kustomization (kustomize.toolkit.fluxcd.io/v1) with an OCIRepository source:
 * build the artifact's `spec.path`, server-side apply every object (manager kustomize-controller, force),
 * label it, record the inventory, prune what left it, and report Flux's conditions and revisions.
 */
const MANAGER = 'kustomize-controller';

class ReconcileFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

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

  private sourceOf(kustomization: KObject): { namespace: string; name: string; object?: KObject } {
    const ref = isObject(specOf(kustomization)['sourceRef'])
      ? (specOf(kustomization)['sourceRef'] as Record<string, unknown>)
      : {};
    const namespace =
      typeof ref['namespace'] === 'string' ? ref['namespace'] : (kustomization.metadata.namespace ?? '');
    const name = typeof ref['name'] === 'string' ? ref['name'] : '';
    const sourceType = this.api.typeOf('source.toolkit.fluxcd.io/v1', 'OCIRepository');
    const object =
      ref['kind'] === 'OCIRepository' && sourceType ? this.api.find(sourceType, namespace, name) : undefined;
    return { namespace, name, ...(object ? { object } : {}) };
  }

  private needsWork(kustomization: KObject): boolean {
    if (kustomization.metadata.deletionTimestamp || wantsReconcile(kustomization)) return true;
    const revision = (
      statusOf(this.sourceOf(kustomization).object ?? ({} as KObject))['artifact'] as
        Record<string, unknown> | undefined
    )?.['revision'];
    return revision !== undefined && revision !== statusOf(kustomization)['lastAppliedRevision'];
  }

  /** Store change handler: Kustomizations that changed, and those whose source changed. */
  onEvent(event: StoreEvent): void {
    const { object } = event;
    const type = this.type();
    if (!type || event.type === 'DELETED') return;
    if (object.apiVersion === 'kustomize.toolkit.fluxcd.io/v1' && object.kind === 'Kustomization') {
      if (this.needsWork(object))
        this.queue.add(objectKey(object.metadata.namespace, object.metadata.name ?? ''));
    } else if (object.apiVersion === 'source.toolkit.fluxcd.io/v1' && object.kind === 'OCIRepository') {
      for (const kustomization of this.api.store.list(type.group, type.kind)) {
        const source = this.sourceOf(kustomization);
        if (
          source.namespace === object.metadata.namespace &&
          source.name === object.metadata.name &&
          this.needsWork(kustomization)
        ) {
          this.queue.add(objectKey(kustomization.metadata.namespace, kustomization.metadata.name ?? ''));
        }
      }
    }
  }

  stop(): void {
    this.queue.stop();
  }

  private async reconcile(key: string): Promise<void> {
    await Promise.resolve();
    const type = this.type();
    const [namespace, name] = parseKey(key);
    let object = type && this.api.find(type, namespace, name);
    if (!type || !object) return;
    if (object.metadata.deletionTimestamp) {
      if (specOf(object)['prune'] === true) pruneInventory(this.api, inventoryOf(object), [], object);
      setFinalizer(this.api, type, object, false, MANAGER);
      return;
    }
    if (specOf(object)['suspend'] === true || (!this.needsWork(object) && !this.queue.due.has(key))) return;
    object = setFinalizer(this.api, type, object, true, MANAGER);
    const generation = object.metadata.generation;
    const token = object.metadata.annotations?.[REQUESTED_AT];
    markProgressing(this.api, type, namespace, name, MANAGER, generation);
    const source = this.sourceOf(object);
    const revision = (
      statusOf(source.object ?? ({} as KObject))['artifact'] as Record<string, unknown> | undefined
    )?.['revision'] as string | undefined;
    let inventory: InventoryEntry[] | undefined;
    let failure: ReconcileFailure | undefined;
    try {
      inventory = this.apply(object, source, revision);
    } catch (error) {
      failure =
        error instanceof ReconcileFailure
          ? error
          : new ReconcileFailure('ReconciliationFailed', (error as Error).message);
    }
    writeStatus(this.api, type, namespace, name, MANAGER, (status) => {
      status['observedGeneration'] = generation;
      if (token !== undefined) status['lastHandledReconcileAt'] = token;
      removeCondition(status, 'Reconciling');
      if (revision !== undefined) status['lastAttemptedRevision'] = revision;
      if (failure) {
        const condition: Condition = {
          type: 'Ready',
          status: 'False',
          reason: failure.reason,
          message: failure.message,
        };
        setCondition(status, condition, generation);
        return;
      }
      status['lastAppliedRevision'] = revision;
      status['inventory'] = { entries: inventory ?? [] };
      const message = `Applied revision: ${revision ?? ''}`;
      setCondition(
        status,
        { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message },
        generation,
      );
    });
    const spec = specOf(object);
    const interval = durationOr(spec['interval'], 0);
    this.queue.requeueAfter(key, failure ? durationOr(spec['retryInterval'], interval) : interval);
  }

  /** Build and apply; returns the new inventory or throws a ReconcileFailure with Flux's reason. */
  private apply(
    object: KObject,
    source: ReturnType<KustomizeController['sourceOf']>,
    revision: string | undefined,
  ): InventoryEntry[] {
    const spec = specOf(object);
    if (!source.object) {
      throw new ReconcileFailure(
        'ArtifactFailed',
        `Source 'OCIRepository/${source.namespace}/${source.name}' not found`,
      );
    }
    const stored = this.artifacts.get(objectKey(source.namespace, source.name));
    if (revision === undefined) {
      throw new ReconcileFailure('ArtifactFailed', 'Source artifact not found, retrying in 30s');
    }
    if (!stored || stored.revision !== revision) {
      throw new ReconcileFailure(
        'ArtifactFailed',
        `failed to download artifact, error: artifact revision ${revision} not found in storage`,
      );
    }
    let manifests: KObject[];
    try {
      manifests = buildManifests(stored.files, typeof spec['path'] === 'string' ? spec['path'] : './');
    } catch (error) {
      const reason =
        error instanceof BuildError && error.message.startsWith('kustomization path not found')
          ? 'ArtifactFailed'
          : 'BuildFailed';
      throw new ReconcileFailure(reason, (error as Error).message);
    }
    try {
      const entries = applyManifests(this.api, manifests, object, MANAGER);
      if (spec['prune'] === true) pruneInventory(this.api, inventoryOf(object), entries, object);
      return entries;
    } catch (error) {
      if (error instanceof ApiStatusError) throw new ReconcileFailure('ReconciliationFailed', error.message);
      throw error;
    }
  }
}
