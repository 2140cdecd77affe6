import { KsailError } from '../../errors.js';
import { RegistryErrorBody } from './registry-schemas.js';

/** Registry failure details, kept on `KsailError.details` for logs, `--json` output and the retry loop. */
export interface RegistryHttpDetails {
  endpoint: string;
  method: string;
  path: string;
  status: number;
  registryCode?: string;
  registryMessage?: string;
  /** From `Retry-After`, in ms, when the registry sent one. */
  retryAfterMs?: number;
}

export const unreachableError = (
  endpoint: string,
  reason: string,
  options: { cause?: unknown; method: string; path: string },
): KsailError =>
  new KsailError(
    'registry-unreachable',
    `registry ${endpoint} is not answering (${reason}); start it with "ksail-fluxd registry up", or set registryPort in ksail-fluxd.yaml to the port your registry uses`,
    { cause: options.cause, details: { endpoint, method: options.method, path: options.path, reason } },
  );

/** The registry's own error, when the body is a Distribution error document; anything else gives undefined. */
export const parseRegistryError = (body: Uint8Array): { code: string; message?: string } | undefined => {
  if (body.byteLength === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = RegistryErrorBody.safeParse(json);
  if (!parsed.success) return undefined;
  const first = parsed.data.errors[0];
  return first === undefined ? undefined : { code: first.code, message: first.message };
};

const hintFor = (method: string, status: number, code: string | undefined): string => {
  switch (code) {
    case 'UNSUPPORTED':
      return method === 'DELETE'
        ? 'enable deletes in the registry: set storage.delete.enabled: true in its config.yml or REGISTRY_STORAGE_DELETE_ENABLED=true in its environment, then restart it'
        : 'this registry does not support the operation; run registry:3 as "ksail-fluxd registry up" does';
    case 'NAME_UNKNOWN':
      return 'the repository does not exist yet; push an artifact to it first';
    case 'MANIFEST_UNKNOWN':
      return 'no manifest has that tag or digest in this repository; list its tags to see what exists';
    case 'BLOB_UNKNOWN':
      return 'the blob is not in this repository; push it before referring to it';
    case 'MANIFEST_BLOB_UNKNOWN':
      return 'upload the config and layer blobs before the manifest that references them';
    case 'DIGEST_INVALID':
      return 'the bytes the registry received do not match their digest; push again';
    case 'MANIFEST_INVALID':
    case 'SIZE_INVALID':
      return 'the registry rejected the manifest; check its JSON, its mediaType and the descriptor sizes';
    case 'BLOB_UPLOAD_UNKNOWN':
    case 'BLOB_UPLOAD_INVALID':
      return 'the upload session expired or was cancelled; push again';
    case 'UNAUTHORIZED':
    case 'DENIED':
      return 'ksail-fluxd talks to a local registry without authentication; set registryPort to the registry "ksail-fluxd registry up" runs';
    case 'TOOMANYREQUESTS':
      return 'the registry is rate-limiting requests; wait a moment and retry';
    default:
      break;
  }
  if (status === 401 || status === 403)
    return 'ksail-fluxd talks to a local registry without authentication; set registryPort to the registry "ksail-fluxd registry up" runs';
  if (status === 429) return 'the registry is rate-limiting requests; wait a moment and retry';
  if (status >= 500)
    return 'the registry failed internally; check its logs (docker logs <container>) and free disk space';
  return 'check that registryPort in ksail-fluxd.yaml points at an OCI registry';
};

export const httpError = (
  details: Omit<RegistryHttpDetails, 'registryCode' | 'registryMessage'>,
  body: Uint8Array,
): KsailError => {
  const registryError = parseRegistryError(body);
  const said = registryError
    ? ` ${registryError.code}${registryError.message ? `: ${registryError.message}` : ''}`
    : '';
  const hint = hintFor(details.method, details.status, registryError?.code);
  const wait =
    details.retryAfterMs === undefined ? '' : ` (Retry-After ${Math.ceil(details.retryAfterMs / 1000)} s)`;
  return new KsailError(
    'registry-http',
    `registry ${details.endpoint}: ${details.method} ${details.path} failed with ${details.status}${said}${wait}; ${hint}`,
    {
      details: {
        ...details,
        ...(registryError && { registryCode: registryError.code, registryMessage: registryError.message }),
      },
    },
  );
};

export const invalidResponseError = (
  endpoint: string,
  what: string,
  problem: string,
  cause?: unknown,
): KsailError =>
  new KsailError(
    'registry-response-invalid',
    `registry ${endpoint} sent an invalid ${what}: ${problem}; check that registryPort in ksail-fluxd.yaml points at an OCI registry (registry:3)`,
    { cause, details: { endpoint, what } },
  );

/** The registry's status and error code of a `registry-http` error, for callers that branch on them. */
export const registryHttpStatus = (error: KsailError): { status?: number; registryCode?: string } => ({
  status: typeof error.details.status === 'number' ? error.details.status : undefined,
  registryCode: typeof error.details.registryCode === 'string' ? error.details.registryCode : undefined,
});
