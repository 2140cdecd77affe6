import type { KsailError } from '../../errors.js';
import { validateRepository } from '../../model/oci-artifact.js';
import { invalidResponseError } from './registry-errors.js';
import { Digest } from './registry-schemas.js';
import { retryRegistry, type AttemptContext, type RegistryRetryOptions } from './retry.js';
import type { RegistryResponse, Transport } from './transport.js';

/** What the blob and manifest operations share: the transport, the retry loop and response checks. */
export interface RegistryContext {
  endpoint: string;
  transport: Transport;
  url(path: string): URL;
  /** `/v2/<repository>/<rest>`, the repository validated against the OCI name grammar. */
  repoUrl(repository: string, rest: string): URL;
  run<T>(attempt: (context: AttemptContext) => Promise<T>, signal?: AbortSignal): Promise<T>;
  invalid(what: string, problem: string, cause?: unknown): KsailError;
  /** The Docker-Content-Digest header, validated; undefined when absent. */
  digestHeader(response: RegistryResponse): string | undefined;
  /** The Location header resolved against the registry (upload sessions live there). */
  location(response: RegistryResponse): URL;
}

export const createRegistryContext = (
  endpoint: string,
  transport: Transport,
  policy: RegistryRetryOptions,
): RegistryContext => {
  const url = (path: string): URL => new URL(path, transport.baseUrl);
  const invalid = (what: string, problem: string, cause?: unknown): KsailError =>
    invalidResponseError(endpoint, what, problem, cause);
  return {
    endpoint,
    transport,
    url,
    repoUrl: (repository, rest) => url(`/v2/${validateRepository(repository)}/${rest}`),
    run: (attempt, signal) => retryRegistry(policy, signal, attempt),
    invalid,
    digestHeader: (response) => {
      const value = response.headers.get('docker-content-digest');
      if (value === null) return undefined;
      const parsed = Digest.safeParse(value.trim());
      if (!parsed.success) throw invalid('Docker-Content-Digest header', `"${value}" is not a digest`);
      return parsed.data;
    },
    location: (response) => {
      const value = response.headers.get('location');
      if (!value) throw invalid('blob upload response', 'it has no Location header');
      return new URL(value, transport.baseUrl);
    },
  };
};
