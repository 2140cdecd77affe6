import { KsailError } from '../errors.js';

/** Which cluster an error is about; every cluster message names the context and the server. */
export interface ClusterIdentity {
  contextName: string;
  server: string;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;

/** The HTTP status of a client-node ApiException or Watch error, if the error came from an HTTP response. */
const responseStatus = (error: unknown): number | undefined => {
  const fields = record(error);
  if (!fields) return undefined;
  if (typeof fields.statusCode === 'number') return fields.statusCode;
  // ApiException keeps the status in `code`; connection errors use `code` for strings like ECONNREFUSED.
  return typeof fields.code === 'number' ? fields.code : undefined;
};

/** A connection-level failure (refused, reset, DNS, timeout): the API server never answered. */
export const isConnectionError = (error: unknown): boolean => {
  const fields = record(error);
  if (!fields) return false;
  if (fields.name === 'AbortError' || fields.name === 'TimeoutError') return true;
  if (typeof fields.code === 'string' && CONNECTION_CODES.has(fields.code)) return true;
  if (fields.type === 'system') return true;
  return fields.cause !== undefined && isConnectionError(fields.cause);
};

/** Kubernetes `Status` fields from an error body (a JSON string or an object). */
const statusBody = (error: unknown): { reason?: string; message?: string; causes?: unknown[] } => {
  let body = record(error)?.body;
  if (typeof body === 'string') {
    const text = body.trim();
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      return text ? { message: text.slice(0, 500) } : {};
    }
  }
  const fields = record(body) ?? {};
  const details = record(fields.details);
  return {
    ...(typeof fields.reason === 'string' ? { reason: fields.reason } : {}),
    ...(typeof fields.message === 'string' ? { message: fields.message } : {}),
    ...(Array.isArray(details?.causes) ? { causes: details.causes } : {}),
  };
};

const connectionReason = (error: unknown): string => {
  const fields = record(error);
  if (fields?.name === 'AbortError' || fields?.name === 'TimeoutError') return 'no answer in time';
  if (typeof fields?.code === 'string') return fields.code;
  return error instanceof Error ? error.message : String(error);
};

export const unreachableError = (cluster: ClusterIdentity, error: unknown): KsailError =>
  new KsailError(
    'cluster-unreachable',
    `cannot reach the Kubernetes API of context "${cluster.contextName}" at ${cluster.server} (${connectionReason(error)}); start the cluster, check \`kubectl config current-context\`, or set cluster.context in ksail-fluxd.yaml`,
    { cause: error, details: { context: cluster.contextName, server: cluster.server } },
  );

const hint = (status: number): string => {
  if (status === 401)
    return 'the credentials in the kubeconfig were rejected; refresh them (recreate the cluster or log in again)';
  if (status === 403) return 'the kubeconfig user lacks permission; check with `kubectl auth can-i`';
  if (status === 404) return 'it does not exist';
  if (status === 409) return 'someone else changed it at the same time; run the command again';
  if (status === 422) return 'the API server rejected the object; check the Flux version of the cluster';
  return 'check the API server and try again';
};

/** Maps any failure of a Kubernetes call to a KsailError; `action` says what was attempted. */
export const toClusterError = (cluster: ClusterIdentity, action: string, error: unknown): KsailError => {
  if (error instanceof KsailError) return error;
  const status = responseStatus(error);
  if (status === undefined) {
    if (isConnectionError(error)) return unreachableError(cluster, error);
    return new KsailError(
      'cluster-http',
      `${action} on context "${cluster.contextName}" failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, details: { context: cluster.contextName } },
    );
  }
  const body = statusBody(error);
  return new KsailError(
    'cluster-http',
    `${action} on context "${cluster.contextName}" failed with HTTP ${status}${body.reason ? ` ${body.reason}` : ''}${body.message ? `: ${body.message}` : ''}; ${hint(status)}`,
    {
      cause: error,
      details: {
        status,
        context: cluster.contextName,
        ...(body.reason ? { reason: body.reason } : {}),
        ...(body.causes ? { causes: body.causes } : {}),
      },
    },
  );
};

/** The HTTP status a KsailError from `toClusterError` carries. */
export const httpStatusOf = (error: unknown): number | undefined => {
  if (!(error instanceof KsailError)) return undefined;
  const status = error.details.status;
  return typeof status === 'number' ? status : undefined;
};

/** A server-side apply field conflict (another manager owns a field with a different value). Not transient. */
export const isFieldConflict = (error: unknown): boolean => {
  if (httpStatusOf(error) !== 409 || !(error instanceof KsailError)) return false;
  const causes = error.details.causes;
  if (Array.isArray(causes) && causes.some((cause) => record(cause)?.type === 'FieldManagerConflict'))
    return true;
  return /Apply failed with \d+ conflicts?/i.test(error.message);
};

/** Worth retrying: optimistic-concurrency conflicts, throttling, server errors and lost connections. */
export const isTransientClusterError = (error: unknown): boolean => {
  if (isKsailUnreachable(error)) return true;
  const status = httpStatusOf(error);
  if (status === undefined) return false;
  if (status === 409) return !isFieldConflict(error);
  return status === 429 || status >= 500;
};

const isKsailUnreachable = (error: unknown): boolean =>
  error instanceof KsailError && error.code === 'cluster-unreachable';
