import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { KsailError } from '../errors.js';
import { assertPositiveInterval } from '../model/duration.js';
import type { FluxKustomization, FluxOCIRepository } from '../model/flux-resources.js';
import { ociUrl, TAG_PATTERN } from '../model/oci-artifact.js';
import { inClusterEndpoint } from '../model/oci-registry.js';
import { FLUX_KINDS, FIELD_MANAGER, MANAGED_BY_LABEL, SOURCE_LABEL } from './kinds.js';

/** What generation needs from the config (FR-008, FR-009). */
export interface FluxSettings {
  namespace: string;
  interval: string;
  /** Registry endpoint as pods see it (FR-004). */
  inClusterEndpoint: string;
}

export type GeneratedSource = Pick<
  ResolvedSource,
  'name' | 'repository' | 'prune' | 'targetNamespace' | 'kustomizationPath'
>;

export interface GeneratedResources {
  ociRepository: FluxOCIRepository;
  kustomization: FluxKustomization;
}

export const fluxSettingsOf = (config: ResolvedConfig): FluxSettings => ({
  namespace: config.flux.namespace,
  interval: config.fluxInterval,
  inClusterEndpoint: inClusterEndpoint({
    containerName: config.registry.name,
    port: config.registryPort,
    network: config.cluster.network,
  }),
});

const labels = (source: string): Record<string, string> => ({
  [MANAGED_BY_LABEL]: FIELD_MANAGER,
  [SOURCE_LABEL]: source,
});

/** Both objects of a source: its name, the Flux namespace, our labels; the interval they share must be > 0. */
const metadataOf = (name: string, settings: FluxSettings) => {
  assertPositiveInterval(settings.interval);
  return { name, namespace: settings.namespace, labels: labels(name) };
};

/** The OCIRepository of a source: named after it, in the Flux namespace, pointing at `tag`. */
export const generateOCIRepository = (
  source: Pick<ResolvedSource, 'name' | 'repository'>,
  tag: string,
  settings: FluxSettings,
): FluxOCIRepository => {
  if (!TAG_PATTERN.test(tag)) {
    throw new KsailError('version-invalid', `tag "${tag}" of source ${source.name} is not a valid OCI tag`);
  }
  return {
    apiVersion: FLUX_KINDS.OCIRepository.apiVersion as FluxOCIRepository['apiVersion'],
    kind: 'OCIRepository',
    metadata: metadataOf(source.name, settings),
    spec: {
      url: ociUrl(settings.inClusterEndpoint, source.repository),
      interval: settings.interval,
      ref: { tag },
      // The local registry speaks plain HTTP.
      insecure: true,
    },
  };
};

/** The Kustomization of a source: same name and namespace, built from its OCIRepository. */
export const generateKustomization = (
  source: Pick<ResolvedSource, 'name' | 'prune' | 'targetNamespace' | 'kustomizationPath'>,
  settings: FluxSettings,
): FluxKustomization => {
  return {
    apiVersion: FLUX_KINDS.Kustomization.apiVersion as FluxKustomization['apiVersion'],
    kind: 'Kustomization',
    metadata: metadataOf(source.name, settings),
    spec: {
      sourceRef: { kind: 'OCIRepository', name: source.name },
      path: source.kustomizationPath || './',
      prune: source.prune,
      ...(source.targetNamespace ? { targetNamespace: source.targetNamespace } : {}),
      interval: settings.interval,
    },
  };
};

export const generateSourceResources = (
  source: GeneratedSource,
  tag: string,
  settings: FluxSettings,
): GeneratedResources => ({
  ociRepository: generateOCIRepository(source, tag, settings),
  kustomization: generateKustomization(source, settings),
});
