import { systemClock, type Clock } from '../clock.js';
import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { describeError, isKsailError, type ErrorCode } from '../errors.js';
import { applyResources, type ApplyResult } from '../flux/apply.js';
import { ROLLED_BACK_ANNOTATION } from '../flux/kinds.js';
import { kubeAdapterFromConfig } from '../flux/create-kube-adapter.js';
import { fluxSettingsOf, type FluxSettings } from '../flux/generate.js';
import { holdKustomization } from '../flux/hold.js';
import type { KubeAdapter } from '../flux/kube-adapter.js';
import { patchTag, type PatchTagResult } from '../flux/patch-tag.js';
import { ensureFluxInstalled } from '../flux/preflight.js';
import type { Logger } from '../logger.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { ociRevision } from '../model/flux-resources.js';

/** What the after-push step needs, for `push` and the daemon alike. */
export interface TagStepOptions {
  source: ResolvedSource;
  version: string;
  settings: FluxSettings;
  clock: Clock;
  logger: Logger;
  /** Manual mode: suspend the Kustomization first, so Flux applies the new tag only at the next reconcile. */
  hold?: boolean | undefined;
  /** Ends the writes and their retries (the daemon is stopping). */
  signal?: AbortSignal | undefined;
  /**
   * applySource: `keep` a rolled-back tag (the content did not change since `ksail-fluxd rollback`), or `clear`
   * the rollback (a real push). See ROLLED_BACK_ANNOTATION.
   */
  rollback?: 'keep' | 'clear' | undefined;
}

const holdFirst = async (adapter: KubeAdapter, options: TagStepOptions): Promise<void> => {
  if (!options.hold) return;
  await holdKustomization(adapter, {
    namespace: options.settings.namespace,
    name: options.source.name,
    clock: options.clock,
    logger: options.logger,
    signal: options.signal,
  });
};

/**
 * Server-side applies the source's OCIRepository and Kustomization at `version`, moving an existing
 * OCIRepository's tag too: the registry's version is the one to run (after a restart the cluster may still point
 * at an older tag).
 */
export const applySource = async (adapter: KubeAdapter, options: TagStepOptions): Promise<ApplyResult[]> => {
  await holdFirst(adapter, options);
  const { source } = options;
  const results = await applyResources(adapter, {
    sources: [source],
    settings: options.settings,
    versions: { [source.name]: options.version },
    moveTags: true,
    rollback: options.rollback,
    clock: options.clock,
    logger: options.logger,
    signal: options.signal,
  });
  for (const result of results.filter((entry) => entry.action === 'skipped')) {
    options.logger.warn('Flux object not applied', {
      source: source.name,
      kind: result.kind,
      reason: result.reason,
    });
  }
  return results;
};

/**
 * The after-push step: points the source's OCIRepository at the new version with a merge patch of `spec.ref.tag`
 * and, when someone deleted the objects, re-creates them at that version (after `preflight`, since a deleted
 * object may mean Flux was uninstalled).
 */
export const moveTag = async (
  adapter: KubeAdapter,
  options: TagStepOptions & { preflight: () => Promise<void> },
): Promise<PatchTagResult> => {
  await holdFirst(adapter, options);
  return patchTag(adapter, {
    namespace: options.settings.namespace,
    name: options.source.name,
    tag: options.version,
    clock: options.clock,
    logger: options.logger,
    signal: options.signal,
    // A real push: the rollback, if any, ends here.
    annotations: { [ROLLED_BACK_ANNOTATION]: null },
    recreate: async (tag) => {
      await options.preflight();
      await applySource(adapter, { ...options, version: tag, hold: false, rollback: 'clear' });
    },
  });
};

export interface AfterPushOptions {
  config: ResolvedConfig;
  source: ResolvedSource;
  version: string;
  /** Manifest digest of the pushed artifact. */
  digest: string;
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Default: client-node on the configured kubeconfig and context, closed again afterwards. */
  adapter?: KubeAdapter;
}

export type AfterPushResult =
  | { patched: true; outcome: 'patched' | 'recreated'; revision: string }
  | { patched: false; reason: string; code?: ErrorCode };

/**
 * `push`'s after-push step, on a cluster connection of its own: `moveTag` after a quick check that Flux is there.
 * Never fails the push: when Flux is not used or the cluster cannot be reached, it returns why the tag was not
 * patched (the daemon or `ksail-fluxd apply` catch up).
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
    adapter ??= kubeAdapterFromConfig(config, options.env ?? process.env, logger, clock);
    const cluster = adapter;
    const namespace = config.flux.namespace;
    const preflight = () => ensureFluxInstalled(cluster, namespace);
    // A quick read with the short probe timeout: an unreachable cluster must not slow the push down.
    if (!(await cluster.namespaceExists(namespace))) await preflight();
    const { outcome } = await moveTag(cluster, {
      source,
      version,
      settings: fluxSettingsOf(config),
      clock,
      logger,
      preflight,
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
