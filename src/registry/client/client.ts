import { systemClock, type Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';
import { createSilentLogger, type Logger } from '../../logger.js';
import { createBlobOperations, type BlobOperations } from './blob-operations.js';
import { createManifestOperations, type ManifestOperations } from './manifest-operations.js';
import { validateEndpoint } from './references.js';
import { createRegistryContext } from './registry-context.js';
import type { OciManifest } from './registry-schemas.js';
import type { RegistryRetryOptions } from './retry.js';
import { createTransport } from './transport.js';

export { OciManifest } from './registry-schemas.js';
export { nextLink } from './references.js';

export interface ManifestResult {
  digest: string;
  mediaType: string;
  body: Buffer;
  manifest: OciManifest;
}

/** The OCI distribution operations ksail-fluxd uses; see BlobOperations and ManifestOperations. */
export interface RegistryClient extends BlobOperations, ManifestOperations {
  /** `localhost:5000` or `127.0.0.1:5000` */
  readonly endpoint: string;
  ping(options?: { signal?: AbortSignal }): Promise<void>;
}

export interface RegistryClientOptions {
  endpoint: string;
  /** Used for backoff sleeps and deadlines. */
  clock?: Clock;
  logger?: Logger;
  /**
   * How long a silent registry (refused connections, no answer) may take, retries included, before
   * `registry-unreachable`: default 2500 ms, so that with start-up and the build the user gets the error well
   * within 5 s (SC-005) even on a loaded machine.
   */
  unreachableBudgetMs?: number;
  /** Retries for 5xx / 429 answers: default 4. */
  maxRetries?: number;
  /** Injectable for unit tests; default the global fetch (undici, keep-alive). */
  fetch?: typeof fetch;
  /** Blobs larger than this are uploaded in PATCH chunks of this size: default 8 MiB. */
  chunkSize?: number;
  /** Bound on one whole exchange including its body: default 60 s. */
  requestTimeoutMs?: number;
  /** `n` for tag listing pages; default none (the registry decides). */
  tagPageSize?: number;
  /** Backoff: base * 2^retry, capped: default 100 ms and 1000 ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A `Retry-After` above this fails instead of waiting: default 5000 ms. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

const positive = (name: string, value: number): number => {
  if (!Number.isFinite(value) || value <= 0)
    throw new KsailError('internal', `registry client option ${name} must be positive, got ${value}`);
  return value;
};

/**
 * An OCI Distribution client over plain HTTP for the local registry. Connections are reused (the global
 * fetch keeps them alive), so the push path HEAD blob ×2, (POST + PUT) ×n, PUT manifest costs no handshakes.
 */
export const createRegistryClient = (options: RegistryClientOptions): RegistryClient => {
  const endpoint = validateEndpoint(options.endpoint);
  const clock = options.clock ?? systemClock;
  const policy: RegistryRetryOptions = {
    clock,
    logger: options.logger ?? createSilentLogger(),
    unreachableBudgetMs: positive('unreachableBudgetMs', options.unreachableBudgetMs ?? 2500),
    maxRetries: Math.max(0, options.maxRetries ?? 4),
    backoff: {
      baseMs: positive('backoffBaseMs', options.backoffBaseMs ?? 100),
      maxMs: positive('backoffMaxMs', options.backoffMaxMs ?? 1000),
    },
    maxRetryAfterMs: options.maxRetryAfterMs ?? 5000,
  };
  const transport = createTransport({
    endpoint,
    clock,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs ?? 60_000),
  });
  const registry = createRegistryContext(endpoint, transport, policy);
  const chunkSize = Math.floor(positive('chunkSize', options.chunkSize ?? DEFAULT_CHUNK_SIZE));
  const tagPageSize =
    options.tagPageSize === undefined ? undefined : Math.floor(positive('tagPageSize', options.tagPageSize));
  return {
    endpoint,
    ping: async ({ signal } = {}) => {
      await registry.run(
        (context) => transport.exchange(context, { method: 'GET', url: registry.url('/v2/') }, [200]),
        signal,
      );
    },
    ...createBlobOperations(registry, chunkSize),
    ...createManifestOperations(registry, { tagPageSize }),
  };
};
