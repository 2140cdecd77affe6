import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { isKsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { kubeAdapterFromConfig } from './create-kube-adapter.js';
import type { KubeAdapter } from './kube-adapter.js';
import { specTag } from './kube-object.js';

export type VersionsInUse = { known: true; versions: string[] } | { known: false; reason: string };

/**
 * The versions the cluster uses for a source (FR-018: prune never deletes them): the OCIRepository's
 * `spec.ref.tag` and the tag of the artifact Flux last stored (`status.artifact.revision` is `<tag>@<digest>`).
 * Unknown, with the reason, when Flux is not used or the cluster does not answer; pruning still keeps the highest.
 */
export const versionsInUse = async (options: {
  config: ResolvedConfig;
  source: Pick<ResolvedSource, 'name'>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  adapter?: KubeAdapter;
}): Promise<VersionsInUse> => {
  const { config, source } = options;
  if (!fluxEnabled(config)) return { known: false, reason: `gitOpsEngine is ${config.gitOpsEngine}` };
  let adapter = options.adapter;
  const owned = adapter === undefined;
  try {
    adapter ??= kubeAdapterFromConfig(config, options.env, options.logger);
    // The namespace read uses the short probe timeout, so an absent cluster costs seconds, not the request timeout.
    if (!(await adapter.namespaceExists(config.flux.namespace))) {
      return { known: false, reason: `namespace ${config.flux.namespace} does not exist` };
    }
    const repository = await adapter.get('OCIRepository', config.flux.namespace, source.name);
    if (!repository) return { known: true, versions: [] };
    const revisionTag = repository.status?.artifact?.revision.split('@')[0];
    const tags = [specTag(repository), revisionTag].filter((v): v is string => !!v);
    return { known: true, versions: [...new Set(tags)] };
  } catch (error) {
    if (!isKsailError(error)) throw error;
    return { known: false, reason: error.message };
  } finally {
    if (owned) adapter?.close();
  }
};
