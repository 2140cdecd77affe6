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
}

export interface PublisherOptions {
  config: ResolvedConfig;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** A dry run builds and validates only, and never talks to the registry. */
  dryRun?: boolean;
  /**
   * For a long-running caller (the daemon): builds running at once, and a parsed-manifest cache per source so
   * that a save re-parses only the files it changed.
   */
  builds?: number;
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
  // Keyed by the source object, which its pipeline keeps: a source removed or recreated by a reload frees its cache.
  const caches = new WeakMap<ResolvedSource, ValidationCache>();
  const cacheFor = (source: ResolvedSource): ValidationCache | undefined => {
    if (options.builds === undefined) return undefined;
    let cache = caches.get(source);
    if (!cache) caches.set(source, (cache = createValidationCache()));
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
          validationCache: cacheFor(source),
          namespaceRequired: fluxEnabled(config),
          ...(request ? { request } : {}),
          ...(progress ? { onPushing: (version: string) => progress.onPushing(version) } : {}),
          ...(progress?.superseded ? { superseded: () => progress.superseded?.() === true } : {}),
        }),
      ),
  };
};
