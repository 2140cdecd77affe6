import { systemClock, type Clock } from '../clock.js';
import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { describeError, isKsailError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { ociRevision } from '../model/flux-resources.js';
import { applyResources } from '../flux/apply.js';
import { kubeAdapterFromConfig } from '../flux/create-kube-adapter.js';
import { fluxSettingsOf } from '../flux/generate.js';
import type { KubeAdapter } from '../flux/kube-adapter.js';
import { patchTag } from '../flux/patch-tag.js';
import { ensureFluxInstalled } from '../flux/preflight.js';

export interface AfterPushOptions {
  config: ResolvedConfig;
  /** The daemon passes its long-lived adapter; the push command lets this create (and close) one. */
  adapter?: KubeAdapter;
  source: ResolvedSource;
  version: string;
  /** Manifest digest of the pushed artifact. */
  digest: string;
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
}

export type AfterPushResult =
  | { patched: true; outcome: 'patched' | 'recreated'; revision: string }
  | { patched: false; reason: string; code?: ErrorCode };

/**
 * After a successful push: points the source's OCIRepository at the new version (re-creating the Flux objects if
 * they were deleted). Never fails the push: when Flux is not used or the cluster cannot be reached, it returns
 * why the tag was not patched.
 */
export const afterPush = async (options: AfterPushOptions): Promise<AfterPushResult> => {
  const { config, source, version, logger } = options;
  if (!fluxEnabled(config)) {
    return {
      patched: false,
      reason: `gitOpsEngine is ${config.gitOpsEngine}; Flux is not used`,
      code: 'flux-disabled',
    };
  }
  const clock = options.clock ?? systemClock;
  let adapter = options.adapter;
  const owned = adapter === undefined;
  try {
    adapter ??= kubeAdapterFromConfig(config, options.env ?? process.env, logger);
    const cluster = adapter;
    const namespace = config.flux.namespace;
    // A quick read with the short probe timeout: an unreachable cluster must not slow the push down.
    if (!(await cluster.namespaceExists(namespace))) await ensureFluxInstalled(cluster, namespace);
    const settings = fluxSettingsOf(config);
    const { outcome } = await patchTag(cluster, {
      namespace,
      name: source.name,
      tag: version,
      clock,
      logger,
      recreate: async (tag) => {
        await ensureFluxInstalled(cluster, namespace);
        await applyResources(cluster, {
          sources: [source],
          settings,
          versions: { [source.name]: tag },
          clock,
          logger,
        });
      },
    });
    return { patched: true, outcome, revision: ociRevision(version, options.digest) };
  } catch (error) {
    if (!isKsailError(error)) throw error;
    logger.warn('tag not patched', { source: source.name, version, error: describeError(error) });
    return { patched: false, reason: error.message, code: error.code };
  } finally {
    if (owned) adapter?.close();
  }
};
