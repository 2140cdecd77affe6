/**
 * ClusterConfig (data model, "existing, extended"): the fields that decide whether there is a local registry and
 * whether Flux is driven. See ../shared/spec/data-model.md#clusterconfig-existing-extended.
 */
export type GitOpsEngine = 'Kubectl' | 'Flux';
export const GIT_OPS_ENGINES: readonly GitOpsEngine[] = ['Kubectl', 'Flux'];

export interface ClusterConfig {
  gitOpsEngine: GitOpsEngine;
  registryEnabled: boolean;
  registryPort: number;
  /** Duration string; defaults to 1m and MUST be > 0. */
  fluxInterval: string;
}

export const DEFAULT_REGISTRY_PORT = 5000;
export const DEFAULT_FLUX_INTERVAL = '1m';

/** Data model rule: `GitOpsEngine == Flux` is required for any Flux action. */
export const fluxEnabled = (config: Pick<ClusterConfig, 'gitOpsEngine'>): boolean =>
  config.gitOpsEngine === 'Flux';
