import type { Clock } from '../../clock.js';
import { chmod, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describeError, isKsailError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  PushBody,
  ReconcileBody,
  RollbackBody,
  type DaemonControl,
  type DaemonEvent,
} from './control-types.js';
import { claimSocketPath, listenOnSocket } from './socket-claim.js';
import { onClientError, readJsonBody, sendError, sendJson, type HttpFailure } from './socket-http.js';
import { assertSocketPathLength, prepareSocketDir } from './socket-path.js';
import { DEFAULT_MAX_BODY_BYTES, NDJSON, type ProtocolErrorCode } from './socket-protocol.js';

/**
 * The control API: HTTP/1.1 + JSON over a Unix socket that only the daemon's user can open (issue #5).
 * Bad input of any kind gets a JSON 4xx and never takes the server down.
 */

export interface ControlServerOptions {
  socketPath: string;
  control: DaemonControl;
  logger: Logger;
  /** Largest accepted request body; default 64 KiB. */
  maxBodyBytes?: number;
  /** For the state-dir check of the socket directory; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** For the sun_path limit; default process.platform. */
  platform?: NodeJS.Platform;
  /** Runs the probe of an existing socket; default the system clock. */
  clock?: Clock;
}

export interface ControlServer {
  socketPath: string;
  /** Stops listening, ends event streams and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

type Method = 'GET' | 'POST';
type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void;
interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

/** A client that does not read its event stream gets cut off rather than grow the daemon's memory. */
const MAX_BUFFERED_EVENT_BYTES = 1024 * 1024;

const statusForCode = (code: ErrorCode): number => {
  switch (code) {
    case 'source-not-found':
      return 404;
    case 'usage':
    case 'config-invalid':
      return 400;
    case 'aborted':
      return 503;
    case 'internal':
      return 500;
    default:
      // The request was fine but the daemon's state (cluster, registry, Flux) does not allow it now.
      return 409;
  }
};

const failure = (status: number, code: ProtocolErrorCode, message: string): HttpFailure => ({
  status,
  code,
  message,
});

export const startControlServer = async (options: ControlServerOptions): Promise<ControlServer> => {
  const { socketPath, control, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  assertSocketPathLength(socketPath, options.platform);
  await prepareSocketDir(socketPath, options.env ?? process.env, logger);
  await claimSocketPath(socketPath, logger, options.clock);

  const streams = new Set<ServerResponse>();

  const events: Handler = (req, res) => {
    res.writeHead(200, {
      'content-type': NDJSON,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.flushHeaders();
    streams.add(res);
    const listener = (event: DaemonEvent): void => {
      if (res.destroyed || res.writableEnded) return;
      if (res.writableLength > MAX_BUFFERED_EVENT_BYTES) {
        logger.warn('control client does not read its event stream; closing it', { socketPath });
        res.destroy();
        return;
      }
      res.write(`${JSON.stringify(event)}\n`);
    };
    const unsubscribe = control.subscribe(listener);
    res.once('close', () => {
      streams.delete(res);
      unsubscribe();
    });
    req.resume();
  };

  const routes: Route[] = [
    { pattern: /^\/v1\/status$/, methods: { GET: (_req, res) => sendJson(res, 200, control.status()) } },
    {
      pattern: /^\/v1\/reconcile$/,
      methods: {
        POST: async (req, res) => {
          const body = await readJsonBody(req, ReconcileBody, maxBodyBytes);
          if (!body.ok) return sendError(res, body);
          sendJson(res, 200, await control.reconcile(body.value));
        },
      },
    },
    {
      pattern: /^\/v1\/requests\/([^/]+)$/,
      methods: {
        GET: (_req, res, [raw = '']) => {
          let id: string;
          try {
            id = decodeURIComponent(raw);
          } catch {
            return sendError(res, failure(400, 'bad-request', `request id ${raw} is not valid URL encoding`));
          }
          const view = control.request(id);
          if (view) return sendJson(res, 200, view);
          sendError(
            res,
            failure(
              404,
              'request-not-found',
              `no reconciliation request ${id}; list recent ones with "ksail-fluxd status"`,
            ),
          );
        },
      },
    },
    { pattern: /^\/v1\/events$/, methods: { GET: events } },
    {
      pattern: /^\/v1\/pause$/,
      methods: {
        POST: (_req, res) => {
          control.pause();
          sendJson(res, 200, { paused: control.status().paused });
        },
      },
    },
    {
      pattern: /^\/v1\/resume$/,
      methods: {
        POST: (_req, res) => {
          control.resume();
          sendJson(res, 200, { paused: control.status().paused });
        },
      },
    },
    {
      pattern: /^\/v1\/sources\/([^/]+)\/rollback$/,
      methods: {
        POST: async (req, res, [raw = '']) => {
          const body = await readJsonBody(req, RollbackBody, maxBodyBytes);
          if (!body.ok) return sendError(res, body);
          let name: string;
          try {
            name = decodeURIComponent(raw);
          } catch {
            return sendError(
              res,
              failure(400, 'bad-request', `source name ${raw} is not valid URL encoding`),
            );
          }
          sendJson(res, 200, await control.rollback(name, body.value));
        },
      },
    },
    {
      pattern: /^\/v1\/push$/,
      methods: {
        POST: async (req, res) => {
          const body = await readJsonBody(req, PushBody, maxBodyBytes);
          if (!body.ok) return sendError(res, body);
          sendJson(res, 200, await control.push(body.value));
        },
      },
    },
  ];

  const handleError = (res: ServerResponse, error: unknown, method: string, path: string): void => {
    if (res.headersSent) {
      // Too late for an error body (e.g. an event stream): end the response rather than leave it hanging.
      logger.error('control request failed after responding', { method, path, error: describeError(error) });
      res.destroy();
      return;
    }
    if (isKsailError(error)) {
      const status = statusForCode(error.code);
      if (status >= 500)
        logger.error('control request failed', { method, path, code: error.code, error: error.message });
      return sendJson(res, status, { error: { code: error.code, message: error.message } });
    }
    logger.error('control request failed', { method, path, error: describeError(error) });
    sendError(
      res,
      failure(500, 'internal', `internal error in the daemon: ${describeError(error)}; see its log`),
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://ksail-fluxd').pathname;
    } catch {
      return sendError(res, failure(400, 'bad-request', `invalid request target ${req.url ?? ''}`));
    }
    const route = routes.find((candidate) => candidate.pattern.test(path));
    if (!route) {
      return sendError(
        res,
        failure(404, 'not-found', `no endpoint ${path}; the control API lives under /v1/`),
      );
    }
    const handler = route.methods[method as Method];
    if (!handler) {
      const allow = Object.keys(route.methods).join(', ');
      return sendError(res, {
        ...failure(405, 'method-not-allowed', `${method} is not allowed on ${path}; use ${allow}`),
        headers: { allow },
      });
    }
    const params = route.pattern.exec(path)?.slice(1) ?? [];
    try {
      await handler(req, res, params);
    } catch (error) {
      handleError(res, error, method, path);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('control request handler crashed', { error: describeError(error) });
      if (!res.headersSent)
        sendError(res, failure(500, 'internal', 'internal error in the daemon; see its log'));
      else res.destroy();
    });
  });
  // Slow or stuck clients must not hold connections forever; event streams are responses and are not affected.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('clientError', (error, socket) => onClientError(error, socket, logger));

  await listenOnSocket(server, socketPath);
  let inode: number | undefined;
  try {
    await chmod(socketPath, 0o600);
    inode = (await stat(socketPath)).ino;
  } catch (error) {
    server.close();
    throw error;
  }
  logger.info('control API listening', { socketPath });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const res of streams) res.end();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // In-flight requests (a reconcile with wait) cannot finish without the daemon anyway.
      server.closeAllConnections();
      await stopped;
      // Remove the file only if it is still ours (a successor may already have replaced it).
      const current = await stat(socketPath).catch(() => undefined);
      if (current?.ino === inode) await unlink(socketPath).catch(() => undefined);
    })();
    return closing;
  };
  return { socketPath, close };
};
