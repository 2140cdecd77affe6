import type { IncomingMessage } from 'node:http';
import { KsailError, type ErrorCode } from '../../errors.js';
import { ErrorBody } from './control-types.js';

/*
 * The control client's error side: which daemon error codes keep their meaning here, and the errors for a socket
 * nobody listens on, a refused connection and an error response.
 */

/** Daemon error codes that mean the same on this side; anything else becomes usage (4xx) or internal. */
const PASSTHROUGH: readonly ErrorCode[] = [
  'source-not-found',
  'usage',
  'config-invalid',
  'flux-disabled',
  'flux-missing',
  'flux-invalid-reference',
  'cluster-unreachable',
  'cluster-not-configured',
  'cluster-http',
  'registry-unreachable',
  'registry-http',
  'version-conflict',
  'version-invalid',
  'manifest-invalid',
  'file-name-invalid',
  'source-empty',
  'source-unreadable',
  'lock-timeout',
  'disk-full',
  'reconcile-failed',
  'reconcile-timeout',
  'aborted',
  'ui-disabled',
  'internal',
];

/** A daemon's error code as this side knows it: the same code when it means the same, else `internal`. */
export const knownErrorCode = (code: string): ErrorCode =>
  PASSTHROUGH.find((known) => known === code) ?? 'internal';

export const notRunning = (socketPath: string, cause?: unknown): KsailError =>
  new KsailError(
    'daemon-not-running',
    `no ksail-fluxd daemon is listening on ${socketPath}; start it with "ksail-fluxd start"`,
    { cause, details: { socketPath } },
  );

export const connectError = (socketPath: string, error: NodeJS.ErrnoException): KsailError => {
  switch (error.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTSOCK':
      return notRunning(socketPath, error);
    case 'EACCES':
    case 'EPERM':
      return new KsailError(
        'daemon-not-running',
        `permission denied on the control socket ${socketPath}; it belongs to another user's daemon: ` +
          "run the command as that user or set socket.path to your own daemon's socket",
        { cause: error, details: { socketPath } },
      );
    default:
      return new KsailError(
        'internal',
        `lost the connection to the ksail-fluxd daemon on ${socketPath} (${error.code ?? error.message}); ` +
          'check its log (journalctl --user -u ksail-fluxd)',
        { cause: error, details: { socketPath } },
      );
  }
};

export const readAll = async (res: IncomingMessage): Promise<string> => {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
};

export const errorFromResponse = (socketPath: string, status: number, text: string): KsailError => {
  let parsed: ErrorBody | undefined;
  try {
    parsed = ErrorBody.parse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed) {
    return new KsailError(
      'internal',
      `the daemon on ${socketPath} answered ${status} without an error body`,
      {
        details: { socketPath, status },
      },
    );
  }
  const serverCode = parsed.error.code;
  const known = PASSTHROUGH.find((code) => code === serverCode);
  const code: ErrorCode = known ?? (status >= 400 && status < 500 ? 'usage' : 'internal');
  return new KsailError(code, parsed.error.message, { details: { socketPath, status, code: serverCode } });
};
