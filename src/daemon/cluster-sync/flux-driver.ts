import type { Clock } from '../../clock.js';
import type { ResolvedConfig, ResolvedSource } from '../../config/schema.js';
import { isKsailError, type KsailError } from '../../errors.js';
import { createKubeAdapter } from '../../flux/create-kube-adapter.js';
import { fluxSettingsOf, type FluxSettings } from '../../flux/generate.js';
import type { KubeAdapter } from '../../flux/kube-adapter.js';
import { specTag } from '../../flux/kube-object.js';
import { applySource, moveTag } from '../../publish/after-push.js';
import { rollbackSource } from '../../publish/rollback.js';
import { registryEndpoint } from '../../model/oci-registry.js';
import { createRegistryClient, type RegistryClient } from '../../registry/client/client.js';
import { listVersions } from '../../registry/versions.js';
import { ensureFluxInstalled } from '../../flux/preflight.js';
import { reconcileRequest } from '../../flux/reconcile.js';
import { createRequestedAtTokens } from '../../flux/requested-at.js';
import type { Logger } from '../../logger.js';
import type { FluxDriver, TagMoveOptions } from './flux-driver-types.js';

export interface FluxDriverOptions {
  config: ResolvedConfig;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Default: client-node on the configured kubeconfig and context. */
  createAdapter?: () => KubeAdapter;
}

/**
 * The daemon's FluxDriver on top of src/flux. The Kubernetes client is created on first use, so a missing
 * kubeconfig or a cluster that is not up yet is a `cluster-unreachable` the daemon retries, not a start-up failure.
 * The Flux preflight (CRDs, namespace) runs once, before the first write.
 */
export const createFluxDriver = (options: FluxDriverOptions): FluxDriver & { close(): void } => {
  const { config, clock, logger } = options;
  const { namespace } = config.flux;
  const settings: FluxSettings = fluxSettingsOf(config);
  const tokens = createRequestedAtTokens({ now: () => clock.now() });
  let adapter: KubeAdapter | undefined;
  let preflight: Promise<void> | undefined;

  const kube = (): KubeAdapter =>
    (adapter ??=
      options.createAdapter?.() ??
      createKubeAdapter({
        kubeconfigPath: config.cluster.kubeconfig,
        context: config.cluster.context,
        env: options.env,
        logger,
        clock,
      }));

  const ready = async (): Promise<KubeAdapter> => {
    const client = kube();
    preflight ??= ensureFluxInstalled(client, namespace).catch((error: unknown) => {
      preflight = undefined;
      throw error;
    });
    await preflight;
    return client;
  };

  let registry: RegistryClient | undefined;
  const versionsOf = (repository: string) => () =>
    listVersions(
      (registry ??= createRegistryClient({ endpoint: registryEndpoint(config.registryPort), clock, logger })),
      repository,
    );

  const step = (source: ResolvedSource, version: string, options?: TagMoveOptions) => ({
    source,
    version,
    settings,
    clock,
    logger,
    hold: options?.hold,
    signal: options?.signal,
  });

  return {
    ensureResources: async (source, version, options) => {
      const results = await applySource(await ready(), {
        ...step(source, version, options),
        rollback: options?.keepRollback ? 'keep' : 'clear',
      });
      const kept = results.find((result) => result.rolledBackFrom !== undefined);
      return kept?.tag && kept.rolledBackFrom
        ? { rolledBack: { version: kept.tag, latest: kept.rolledBackFrom } }
        : {};
    },

    rollback: async (source, version, signal) =>
      rollbackSource({
        source,
        version,
        namespace,
        adapter: await ready(),
        versions: versionsOf(source.repository),
        clock,
        logger,
        tokens,
        timeoutMs: config.flux.reconcileTimeoutMs,
        signal,
      }),

    patchTag: async (source, version, options) => {
      await moveTag(await ready(), {
        ...step(source, version, options),
        preflight: () => ready().then(() => undefined),
      });
    },

    reconcile: async (request, signal) => {
      const outcomes = await reconcileRequest(await ready(), request, {
        clock,
        logger,
        tokens,
        timeoutMs: config.flux.reconcileTimeoutMs,
        signal,
        concurrency: config.flux.concurrency,
      });
      // The cluster went away mid-request: the daemon retries the whole request when it is back.
      const unreachable = outcomes.find(
        (outcome): outcome is { ok: false; source: string; error: KsailError } =>
          !outcome.ok &&
          (isKsailError(outcome.error, 'cluster-unreachable') ||
            isKsailError(outcome.error, 'cluster-not-configured')),
      );
      if (unreachable) throw unreachable.error;
      return outcomes.map((outcome) =>
        outcome.ok
          ? { source: outcome.source, revision: outcome.revision, durations: { ...outcome.durations } }
          : {
              source: outcome.source,
              error: outcome.error.message,
              code: outcome.error.code,
              ...(typeof outcome.error.details.supersededBy === 'string'
                ? { supersededBy: outcome.error.details.supersededBy }
                : {}),
            },
      );
    },

    probe: async () => {
      await kube().namespaceExists(namespace);
    },

    observe: async (source) => {
      const client = kube();
      const [repository, kustomization] = await Promise.all([
        client.get('OCIRepository', namespace, source.name),
        client.get('Kustomization', namespace, source.name),
      ]);
      const tag = specTag(repository);
      const artifactRevision = repository?.status?.artifact?.revision;
      const appliedRevision = kustomization?.status?.lastAppliedRevision;
      return {
        ...(tag ? { tag } : {}),
        ...(artifactRevision ? { artifactRevision } : {}),
        ...(appliedRevision ? { appliedRevision } : {}),
      };
    },

    close: () => adapter?.close(),
  };
};
