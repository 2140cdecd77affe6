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
  wantsReconcile,
  writeStatus,
} from './controller-runtime.js';
import type { ObjectApi } from './object-api.js';
import type { PulledArtifact } from './registry-pull.js';
import { LayerOperationError, pullArtifact } from './registry-pull.js';
import type { StoreEvent } from './store.js';
import type { KObject, ResourceType } from './types.js';
import { isObject, timestamp } from './types.js';

/**
 * source-controller for OCIRepository (source.toolkit.fluxcd.io/v1): on a new generation, a new
 * `reconcile.fluxcd.io/requestedAt` token or the interval, pull `spec.ref` from the registry and record the
 * artifact and Flux's conditions in status. Extracted files stay in memory for the kustomize-controller.
 */
export const MANAGER = 'source-controller';
export const PULL_FAILED = 'OCIArtifactPullFailed';
export const LAYER_OPERATION_FAILED = 'OCIArtifactLayerOperationFailed';
const STORAGE_HOST = 'source-controller.flux-system.svc.cluster.local.';

export interface SourceFaults {
  registryFailure(): string | undefined;
}

export interface StoredArtifact {
  revision: string;
  files: Map<string, Buffer>;
}

/** fetch() hides the socket error in `cause`; Flux's messages show it (e.g. connection refused). */
const describeError = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  return cause ? `${message}: ${cause}` : message;
};

const intervalOf = (object: KObject): number => durationOr(specOf(object)['interval'], 0);

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

  /** Store change handler: queue repositories that ask for work. */
  onEvent(event: StoreEvent): void {
    const { object } = event;
    if (object.apiVersion !== 'source.toolkit.fluxcd.io/v1' || object.kind !== 'OCIRepository') return;
    const key = objectKey(object.metadata.namespace, object.metadata.name ?? '');
    if (event.type === 'DELETED') this.artifacts.delete(key);
    else if (object.metadata.deletionTimestamp || wantsReconcile(object)) this.queue.add(key);
  }

  stop(): void {
    this.queue.stop();
    this.aborter.abort();
  }

  private async reconcile(key: string): Promise<void> {
    const type = this.type();
    const [namespace, name] = parseKey(key);
    let object = type && this.api.find(type, namespace, name);
    if (!type || !object) return;
    if (object.metadata.deletionTimestamp) {
      this.artifacts.delete(key);
      setFinalizer(this.api, type, object, false, MANAGER);
      return;
    }
    if (specOf(object)['suspend'] === true || (!wantsReconcile(object) && !this.queue.due.has(key))) return;
    object = setFinalizer(this.api, type, object, true, MANAGER);
    const generation = object.metadata.generation;
    const token = object.metadata.annotations?.[REQUESTED_AT];
    markProgressing(this.api, type, namespace, name, MANAGER, generation);
    const spec = specOf(object);
    const url = String(spec['url']);
    let outcome: { pulled: PulledArtifact } | { error: string; reason: string };
    try {
      outcome = { pulled: await this.pull(spec, url) };
    } catch (error) {
      outcome =
        error instanceof LayerOperationError
          ? { error: error.message, reason: LAYER_OPERATION_FAILED }
          : {
              error: `failed to pull artifact from '${url}': ${describeError(error)}`,
              reason: PULL_FAILED,
            };
    }
    if (this.aborter.signal.aborted) return;
    if ('pulled' in outcome)
      this.artifacts.set(key, { revision: outcome.pulled.revision, files: outcome.pulled.files });
    writeStatus(this.api, type, namespace, name, MANAGER, (status) => {
      status['observedGeneration'] = generation;
      if (token !== undefined) status['lastHandledReconcileAt'] = token;
      removeCondition(status, 'Reconciling');
      if ('error' in outcome) {
        const failed: Omit<Condition, 'type'> = {
          status: 'True',
          reason: outcome.reason,
          message: outcome.error,
        };
        setCondition(status, { type: 'FetchFailed', ...failed }, generation);
        setCondition(status, { type: 'Ready', ...failed, status: 'False' }, generation);
        return;
      }
      const { pulled } = outcome;
      const hex = pulled.layerDigest.replace(/^sha256:/, '');
      const path = `ocirepository/${namespace}/${name}/${hex}.tar.gz`;
      status['artifact'] = {
        digest: pulled.layerDigest,
        lastUpdateTime: timestamp(),
        path,
        revision: pulled.revision,
        size: pulled.size,
        url: `http://${STORAGE_HOST}/${path}`,
        ...(pulled.metadata ? { metadata: pulled.metadata } : {}),
      };
      status['url'] = `http://${STORAGE_HOST}/ocirepository/${namespace}/${name}/latest.tar.gz`;
      const message = `stored artifact for digest '${pulled.revision}'`;
      removeCondition(status, 'FetchFailed');
      setCondition(
        status,
        { type: 'ArtifactInStorage', status: 'True', reason: 'Succeeded', message },
        generation,
      );
      setCondition(status, { type: 'Ready', status: 'True', reason: 'Succeeded', message }, generation);
    });
    this.queue.requeueAfter(key, intervalOf(object));
  }

  private async pull(spec: Record<string, unknown>, url: string): Promise<PulledArtifact> {
    const failure = this.faults.registryFailure();
    if (failure !== undefined) throw new Error(failure);
    const ref = isObject(spec['ref']) ? spec['ref'] : {};
    const selector = isObject(spec['layerSelector']) ? spec['layerSelector'] : {};
    const timeout = durationOr(spec['timeout'], 60_000);
    return pullArtifact(
      url,
      {
        ...(typeof ref['tag'] === 'string' ? { tag: ref['tag'] } : {}),
        ...(typeof ref['digest'] === 'string' ? { digest: ref['digest'] } : {}),
        ...(typeof ref['semver'] === 'string' ? { semver: ref['semver'] } : {}),
      },
      {
        endpoint: this.endpoint,
        ...(typeof selector['mediaType'] === 'string' ? { layerMediaType: selector['mediaType'] } : {}),
        signal: AbortSignal.any([this.aborter.signal, AbortSignal.timeout(timeout)]),
      },
    );
  }
}
