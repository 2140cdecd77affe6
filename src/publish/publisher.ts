import { createLayerCache, type LayerCache } from '../artifact/layer-cache.js';
import { createValidationCache, type ValidationCache } from '../artifact/validation-cache.js';
import type { Clock } from '../clock.js';
import { createLimiter } from '../concurrency.js';
import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { registryEndpoint } from '../model/oci-registry.js';
import { createRegistryClient } from '../registry/client/client.js';
import { pushLock } from '../registry/runtime/lock.js';
import { registryLockDir } from '../registry/runtime/settings.js';
import { publishSource } from './publish-source.js';
import type { PublishRequest, PublishResult } from './publish-types.js';

/** What a publish reports while it runs. */
export interface PublishProgress {
  /** The content differs and the upload of `version` begins. */
  onPushing(version: string): void;
  /** Files changed since the publish began: tag nothing (outcome `dropped`); see PublishOptions.superseded. */
  superseded?(): boolean;
}

/** Builds, compares and pushes one source: `push` and the daemon publish through the same one. */
export interface Publisher {
  publish(
    source: ResolvedSource,
    progress?: PublishProgress,
    request?: PublishRequest,
  ): Promise<PublishResult>;
  /** Frees what is cached for the source (it was removed or replaced); its next publish builds cold. */
  forget(source: ResolvedSource): void;
}

export interface PublisherOptions {
  config: ResolvedConfig;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** A dry run builds and validates only, and never talks to the registry. */
  dryRun?: boolean;
  /**
   * For a long-running caller (the daemon): builds running at once, and per source a parsed-manifest cache and an
   * incremental-layer cache, so that a save re-reads, re-parses and re-compresses only the files it changed.
   */
  builds?: number;
  /** Bytes each source's layer cache may hold (file contents and compressed members); default 256 MiB. */
  layerCacheBytes?: number;
}

/**
 * The publish use case on the configured registry: its client, and the push lock shared with `prune`, so that
 * garbage collection never runs while a push is uploading (issue #3).
 */
export const createPublisher = (options: PublisherOptions): Publisher => {
  const { config, clock, logger } = options;
  const client = options.dryRun
    ? undefined
    : createRegistryClient({ endpoint: registryEndpoint(config.registryPort), clock, logger });
  const lock = pushLock(registryLockDir(options.env, config.registry.name), { clock });
  // Keyed by the source object, which its pipeline keeps: a source removed or recreated by a reload is released
  // (and, being a weak key, nothing is kept should a caller forget to).
  const caches = new WeakMap<ResolvedSource, { validation: ValidationCache; layer: LayerCache }>();
  const cachesFor = (source: ResolvedSource) => {
    if (options.builds === undefined) return undefined;
    let cache = caches.get(source);
    if (!cache) {
      cache = {
        validation: createValidationCache(),
        layer: createLayerCache({ clock, maxBytes: options.layerCacheBytes }),
      };
      caches.set(source, cache);
    }
    return cache;
  };
  const builds = createLimiter(options.builds ?? 1);
  return {
    publish: (source, progress, request) =>
      builds(() =>
        publishSource({
          source,
          client,
          clock,
          logger,
          lock,
          validationCache: cachesFor(source)?.validation,
          layerCache: cachesFor(source)?.layer,
          namespaceRequired: fluxEnabled(config),
          ...(request ? { request } : {}),
          ...(progress ? { onPushing: (version: string) => progress.onPushing(version) } : {}),
          ...(progress?.superseded ? { superseded: () => progress.superseded?.() === true } : {}),
        }),
      ),
    forget: (source) => {
      caches.get(source)?.layer.clear();
      caches.delete(source);
    },
  };
};
