import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { KubeAdapter } from '../flux/kube-adapter.js';
import type { ReconcileOutcome } from '../flux/reconcile.js';
import type { Logger } from '../logger.js';
import { createRequest } from '../model/reconciliation-request.js';
import { selectSources } from './sources.js';

export interface ReconcileDirectOptions {
  config: ResolvedConfig;
  /** Source names; empty: all. */
  names: readonly string[];
  /** Overrides flux.reconcileTimeout. */
  timeoutMs?: number | undefined;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  logger: Logger;
  /** A caller's long-lived adapter; otherwise one is created for this call and closed after it. */
  adapter?: KubeAdapter;
  signal?: AbortSignal;
}

/**
 * `reconcile` without the daemon: talks to the cluster directly, like `flux reconcile kustomization <source>
 * --with-source`, for each selected source. Preflight failures (Flux disabled or missing, cluster unreachable)
 * throw; per-source failures are returned as outcomes.
 */
export const reconcileDirect = async (options: ReconcileDirectOptions): Promise<ReconcileOutcome[]> => {
  const { config, clock, logger } = options;
  const sources = selectSources(config, options.names);
  // The Kubernetes client loads only when reconciling directly; through the daemon it is not needed (issue #10).
  const [{ kubeAdapterFromConfig }, { fluxPreflight }, { reconcileRequest }, { createRequestedAtTokens }] =
    await Promise.all([
      import('../flux/create-kube-adapter.js'),
      import('../flux/preflight.js'),
      import('../flux/reconcile.js'),
      import('../flux/requested-at.js'),
    ]);
  const adapter = options.adapter ?? kubeAdapterFromConfig(config, options.env, logger);
  try {
    await fluxPreflight(adapter, config);
    const namespace = config.flux.namespace;
    const request = createRequest({
      id: randomUUID(),
      mode: 'Manual',
      requestedAt: new Date(clock.now()).toISOString(),
      targets: sources.flatMap((source) => [
        { kind: 'OCIRepository' as const, namespace, name: source.name },
        { kind: 'Kustomization' as const, namespace, name: source.name },
      ]),
    });
    return await reconcileRequest(adapter, request, {
      clock,
      logger,
      tokens: createRequestedAtTokens({ now: () => clock.now() }),
      timeoutMs: options.timeoutMs ?? config.flux.reconcileTimeoutMs,
      concurrency: config.flux.concurrency,
      signal: options.signal,
    });
  } finally {
    if (!options.adapter) adapter.close();
  }
};

/** A newer version overtook the request while it waited: no failure, Flux reconciles that version. */
export const isSuperseded = (outcome: ReconcileOutcome): boolean =>
  !outcome.ok && outcome.error.code === 'reconcile-superseded';

export const formatReconcileOutcome = (outcome: ReconcileOutcome): string => {
  if (outcome.ok) {
    return `${outcome.source}  reconciled  ${outcome.revision}  (source ${formatSeconds(outcome.durations.source)}, kustomization ${formatSeconds(outcome.durations.kustomization)})`;
  }
  return isSuperseded(outcome)
    ? `${outcome.source}  superseded: ${outcome.error.message}`
    : `${outcome.source}  failed: ${outcome.error.message}`;
};

const formatSeconds = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
