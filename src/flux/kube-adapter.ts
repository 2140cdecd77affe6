import type { FluxKind } from './kinds.js';
import type { KubeObject } from './kube-object.js';

/** An object ksail-fluxd applies: the generated OCIRepository or Kustomization. */
export interface AppliedObject {
  apiVersion: string;
  kind: FluxKind;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: object;
}

export interface WatchHandlers {
  /** Every ADDED/MODIFIED event; `deleted` for DELETED. */
  onObject(object: KubeObject, deleted: boolean): void;
  /** The watch ended: `error` when it failed (connect error, HTTP error, ERROR event), undefined when it closed. */
  onClose(error?: unknown): void;
}

export interface WatchHandle {
  /** Ends the watch; `onClose` is not called afterwards. Idempotent. */
  stop(): void;
}

/**
 * The few Kubernetes operations ksail-fluxd needs. Every failure is a KsailError: `cluster-unreachable` when the
 * API server did not answer, `cluster-http` (with `details.status`) for an HTTP error.
 */
export interface KubeAdapter {
  readonly contextName: string;
  readonly server: string;
  /** undefined when the object does not exist. */
  get(kind: FluxKind, namespace: string, name: string): Promise<KubeObject | undefined>;
  list(kind: FluxKind, namespace: string): Promise<KubeObject[]>;
  /** Server-side apply with field manager `ksail-fluxd`; `force` takes fields owned by other managers. */
  apply(object: AppliedObject, options?: { force?: boolean }): Promise<KubeObject>;
  /** JSON merge patch (RFC 7386). */
  mergePatch(kind: FluxKind, namespace: string, name: string, patch: object): Promise<KubeObject>;
  /** Watches one object (fieldSelector metadata.name); resolves once the watch is connected. */
  watch(kind: FluxKind, namespace: string, name: string, handlers: WatchHandlers): Promise<WatchHandle>;
  /** The served versions of a CustomResourceDefinition, or undefined when it does not exist. */
  readCrd(name: string): Promise<{ servedVersions: string[] } | undefined>;
  namespaceExists(name: string): Promise<boolean>;
  /** Stops open watches. Idempotent. */
  close(): void;
}
