import { createIgnoreMatcher } from '../artifact/ignore.js';
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { superviseRegistry } from '../registry/runtime/ensure.js';
import { createPublisher } from '../publish/publisher.js';
import { startControlServer } from './control/control-server.js';
import type { DaemonDeps } from './create-daemon.js';
import { dirWatcherFactory } from './watch/dir-watcher.js';
import { watchRoot } from './watch/root-guard.js';
import { createFluxDriver } from './cluster-sync/flux-driver.js';
import { readKsailYaml } from '../config/ksail-yaml.js';
import { kubeAdapterFromConfig } from '../flux/create-kube-adapter.js';
import { warnAboutOverlaps } from '../flux/overlap.js';
import { createRegistryClient, type RegistryClient } from '../registry/client/client.js';
import { listVersions } from '../registry/versions.js';
import { registryEndpoint } from '../model/oci-registry.js';
import { loadUiAssets } from './ui/ui-assets.js';
import { startUiServer } from './ui/ui-server.js';

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
  const registry = superviseRegistry(runtimeDeps);
  let client: RegistryClient | undefined;
  const versionsClient = (): RegistryClient =>
    (client ??= createRegistryClient({
      endpoint: registryEndpoint(options.config.registryPort),
      clock,
      logger,
    }));
  return {
    config: options.config,
    logger,
    clock,
    env,
    version: options.version,
    watcherFactory: dirWatcherFactory,
    ignoreMatcher: createIgnoreMatcher,
    rootGuard: watchRoot,
    ensureRegistry: (config) => registry.ensure(config),
    dispose: () => registry.close(),
    createPublisher: (config) =>
      createPublisher({ config, clock, logger, env, builds: MAX_CONCURRENT_BUILDS }),
    createFlux: (config) => createFluxDriver({ config, clock, logger, env }),
    startControlServer: (server) => startControlServer({ ...server, env }),
    checkOverlaps: async (config) => {
      const ksail = await readKsailYaml(config.baseDir).catch(() => undefined);
      const adapter = kubeAdapterFromConfig(config, env, logger, clock);
      try {
        return await warnAboutOverlaps({ config, ksail, adapter, logger });
      } finally {
        adapter.close();
      }
    },
    startUiServer: async (server) => startUiServer({ ...server, assets: await loadUiAssets() }),
    listVersions: (repository) => listVersions(versionsClient(), repository),
    ...(options.reloadConfig ? { reloadConfig: options.reloadConfig } : {}),
  };
};
