import { createIgnoreMatcher } from '../artifact/ignore.js';
import { createLimiter } from '../concurrency.js';
import { createValidationCache, type ValidationCache } from '../artifact/validation-cache.js';
import type { Clock } from '../clock.js';
import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { registryEndpoint } from '../model/oci-registry.js';
import { createRegistryClient } from '../registry/client/client.js';
import { ensureRegistry, ensureRuntime, keepProcessRegistry } from '../registry/runtime/ensure.js';
import type { RegistryRuntime } from '../registry/runtime/types.js';
import { pushLock } from '../registry/runtime/lock.js';
import { publishSource } from '../publish/publish-source.js';
import { registryLockDir } from '../registry/runtime/settings.js';
import { startControlServer } from './control/control-server.js';
import type { DaemonDeps } from './create-daemon.js';
import { dirWatcherFactory } from './watch/dir-watcher.js';
import { createFluxDriver } from './cluster-sync/flux-driver.js';

/**
 * Builds running at once, daemon-wide. At start-up every source builds; ten at once left a heap twice the live
 * size that V8 kept while idle (issue #5: idle RSS). Two keep both CPUs busy; a single save is never queued.
 */
export const MAX_CONCURRENT_BUILDS = 2;

export interface RealDepsOptions {
  config: ResolvedConfig;
  logger: Logger;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  version: string;
  reloadConfig?: () => Promise<ResolvedConfig>;
}

/** The real adapters: directory watches (chokidar when polling), the artifact ignore rules, the registry runtime and client, src/flux, the socket. */
export const realDaemonDeps = (options: RealDepsOptions): DaemonDeps => {
  const { logger, clock, env } = options;
  const runtimeDeps = { logger, clock, env };
  // A registry process is supervised for the daemon's life (Docker restarts its container itself); once kept,
  // ensuring goes through that handle, so the supervisor and a re-ensure share one restart.
  let kept: Promise<RegistryRuntime | undefined> | undefined;
  const keep = (config: ResolvedConfig): Promise<RegistryRuntime | undefined> =>
    (kept ??= keepProcessRegistry(config, runtimeDeps).catch((error: unknown) => {
      logger.warn('registry process not supervised', { error: describeError(error) });
      kept = undefined;
      return undefined;
    }));
  return {
    config: options.config,
    logger,
    clock,
    env,
    version: options.version,
    watcherFactory: dirWatcherFactory,
    ignoreMatcher: createIgnoreMatcher,
    ensureRegistry: async (config) => {
      const runtime = await kept;
      if (runtime) return ensureRuntime(runtime);
      const registry = await ensureRegistry(config, runtimeDeps);
      await keep(config);
      return registry;
    },
    dispose: async () => {
      await (await kept)?.close?.();
    },
    createPublisher: (config) => {
      const client = createRegistryClient({ endpoint: registryEndpoint(config.registryPort), clock, logger });
      // Shared with `prune`: garbage collection never runs while a push is uploading.
      const lock = pushLock(registryLockDir(env, config.registry.name), { clock });
      // One parsed-manifest cache per source, so that a save re-parses only the files it changed. Keyed by the
      // source object, which its pipeline keeps: a source removed or recreated by a reload frees its cache.
      const caches = new WeakMap<ResolvedSource, ValidationCache>();
      const cacheFor = (source: ResolvedSource): ValidationCache => {
        let cache = caches.get(source);
        if (!cache) caches.set(source, (cache = createValidationCache()));
        return cache;
      };
      const builds = createLimiter(MAX_CONCURRENT_BUILDS);
      return {
        publish: (source, progress) =>
          builds(() =>
            publishSource({
              source,
              client,
              clock,
              logger,
              lock,
              validationCache: cacheFor(source),
              namespaceRequired: fluxEnabled(options.config),
              ...(progress ? { onPushing: (version: string) => progress.onPushing(version) } : {}),
            }),
          ),
      };
    },
    createFlux: (config) => createFluxDriver({ config, clock, logger, env }),
    startControlServer: (server) => startControlServer({ ...server, env }),
    ...(options.reloadConfig ? { reloadConfig: options.reloadConfig } : {}),
  };
};
