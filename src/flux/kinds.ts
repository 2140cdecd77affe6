/** The two Flux kinds ksail-fluxd manages, and where they live in the Kubernetes API. */
export type FluxKind = 'OCIRepository' | 'Kustomization';

export interface FluxKindInfo {
  group: string;
  version: 'v1';
  plural: string;
  apiVersion: string;
  /** Name of the CustomResourceDefinition that must exist (flux preflight). */
  crd: string;
}

export const FLUX_KINDS: Record<FluxKind, FluxKindInfo> = {
  OCIRepository: {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'ocirepositories',
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    crd: 'ocirepositories.source.toolkit.fluxcd.io',
  },
  Kustomization: {
    group: 'kustomize.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'kustomizations',
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    crd: 'kustomizations.kustomize.toolkit.fluxcd.io',
  },
};

/** Server-side apply field manager; also the value of the managed-by label. */
export const FIELD_MANAGER = 'ksail-fluxd';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const SOURCE_LABEL = 'io.ksail-fluxd/source';
/** Flux's "reconcile now" annotation; controllers copy it to status.lastHandledReconcileAt when handled. */
export const REQUESTED_AT_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';

export const describeRef = (ref: { kind: FluxKind; namespace: string; name: string }): string =>
  `${ref.kind} ${ref.namespace}/${ref.name}`;
/**
 * Set on an OCIRepository by `ksail-fluxd rollback`: the newest version in the registry when the tag was moved
 * back. While it is there and the content is unchanged, the daemon keeps the cluster's tag (on start, resync and
 * reload); the next real push moves the tag and removes it.
 */
export const ROLLED_BACK_ANNOTATION = 'io.ksail-fluxd/rolled-back-from';
