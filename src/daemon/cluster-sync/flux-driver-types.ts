import type { ResolvedSource } from '../../config/schema.js';
import type { ErrorCode } from '../../errors.js';
import type { ReconciliationRequest } from '../../model/reconciliation-request.js';
import type { RollbackResult } from '../../publish/rollback.js';

/** Per source, what a reconcile achieved. */
export interface ReconcileResult {
  source: string;
  /** The revision Flux applied (`<tag>@<digest>`). */
  revision?: string;
  error?: string;
  /** The error's code: `reconcile-superseded` when a newer version took over. */
  code?: ErrorCode;
  /** The version that took over. */
  supersededBy?: string;
  durations?: Record<string, number>;
}

/** A source the cluster keeps at a rolled-back tag (see ROLLED_BACK_ANNOTATION). */
export interface RolledBack {
  /** The tag the cluster runs. */
  version: string;
  /** The newest version when it was rolled back. */
  latest: string;
}

export interface TagMoveOptions {
  /** Manual mode: suspend the Kustomization first, so Flux applies the new tag only at the next reconcile. */
  hold?: boolean;
  /** Ends the write's conflict and transient-error retries (the daemon is stopping). */
  signal?: AbortSignal;
  /** ensureResources: the content is unchanged, so a rolled-back tag stays where `rollback` put it. */
  keepRollback?: boolean;
}

/**
 * What the daemon needs from Flux (implemented on top of src/flux in flux-driver.ts). Every method throws
 * KsailError('cluster-unreachable') when the API server does not answer, which the daemon retries; other codes
 * ('reconcile-failed', 'reconcile-timeout', 'flux-missing', 'cluster-http') are reported.
 */
export interface FluxDriver {
  /** Server-side applies the source's OCIRepository (at `version`) and Kustomization. */
  ensureResources(
    source: ResolvedSource,
    version: string,
    options?: TagMoveOptions,
  ): Promise<{ rolledBack?: RolledBack } | void>;
  /** Sets the OCIRepository's `spec.ref.tag`; recreates the objects when they were deleted. */
  patchTag(source: ResolvedSource, version: string, options?: TagMoveOptions): Promise<void>;
  /** Requests a reconcile of the targets and waits until Flux applied the expected revision. */
  reconcile(request: ReconciliationRequest, signal?: AbortSignal): Promise<ReconcileResult[]>;
  /** `ksail-fluxd rollback` through the daemon: the same use case as the CLI's direct path (src/publish/rollback.ts). */
  rollback?(
    source: ResolvedSource,
    version: string | undefined,
    signal?: AbortSignal,
  ): Promise<RollbackResult>;
  /**
   * A short read of the API server (the Flux namespace, with the 3 s probe timeout); throws
   * `cluster-unreachable` when it does not answer. Status uses it while other calls retry (issue #13).
   */
  probe?(): Promise<void>;
  /** What the cluster runs for the source now (the dashboard's version list); throws when it does not answer. */
  observe?(source: ResolvedSource): Promise<ObservedSource>;
  /** Stops open watches. */
  close?(): void;
}

/** The source's Flux objects as the cluster has them. */
export interface ObservedSource {
  /** The OCIRepository's `spec.ref.tag`. */
  tag?: string;
  /** The OCIRepository's stored artifact, `<tag>@<digest>`. */
  artifactRevision?: string;
  /** The Kustomization's `status.lastAppliedRevision`. */
  appliedRevision?: string;
}
