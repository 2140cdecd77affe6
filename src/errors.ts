/**
 * The one error class of ksail-fluxd. Every failure a user can see is a KsailError with a `code` (a string
 * union, so callers can branch on it) and a message that says what happened *and what to do*.
 */
export type ErrorCode =
  | 'usage'
  | 'config-invalid'
  | 'config-not-found'
  | 'model-invalid'
  | 'source-not-found'
  | 'source-empty'
  | 'source-unreadable'
  | 'manifest-invalid'
  | 'unsafe-path'
  | 'file-name-invalid'
  | 'version-invalid'
  | 'version-conflict'
  | 'registry-unreachable'
  | 'registry-http'
  | 'registry-response-invalid'
  | 'runtime-unavailable'
  | 'image-missing'
  | 'port-taken'
  | 'registry-mismatch'
  | 'network-not-found'
  | 'gc-failed'
  | 'unsupported'
  | 'lock-timeout'
  | 'disk-full'
  | 'cluster-unreachable'
  | 'cluster-not-configured'
  | 'cluster-http'
  | 'flux-disabled'
  | 'flux-missing'
  | 'flux-invalid-reference'
  | 'reconcile-failed'
  | 'reconcile-timeout'
  | 'reconcile-superseded'
  | 'flux-suspended'
  | 'daemon-not-running'
  | 'daemon-already-running'
  | 'socket-path-too-long'
  | 'watch-limit'
  | 'ui-disabled'
  | 'aborted'
  | 'internal';

export interface KsailErrorOptions {
  cause?: unknown;
  /** Structured data for logs and `--json` output; never secrets. */
  details?: Record<string, unknown>;
}

export class KsailError extends Error {
  override readonly name = 'KsailError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: KsailErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

export const isKsailError = (error: unknown, code?: ErrorCode): error is KsailError =>
  error instanceof KsailError && (code === undefined || error.code === code);

/** Process exit codes (issue #2): 0 ok, 1 operation failed, 2 usage or config error, 3 daemon not running. */
export const exitCodeFor = (error: unknown): 1 | 2 | 3 => {
  if (!(error instanceof KsailError)) return 1;
  switch (error.code) {
    case 'usage':
    case 'config-invalid':
    case 'config-not-found':
      return 2;
    case 'daemon-not-running':
      return 3;
    default:
      return 1;
  }
};

/** A message for an unknown thrown value, for logs. */
export const describeError = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
