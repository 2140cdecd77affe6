import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, isKsailError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  PushBody,
  ReconcileBody,
  RollbackBody,
  type DaemonControl,
  type DaemonEvent,
} from './control-types.js';
import { readJsonBody, sendError, sendJson, type HttpFailure } from './socket-http.js';
import { DEFAULT_MAX_BODY_BYTES, NDJSON, type ProtocolErrorCode } from './socket-protocol.js';

/**
 * The control API's one handler table (issue #5): the Unix socket serves it at `/`, and the dashboard (issue #12)
 * mounts the same table under `/api`, so every action of the page runs exactly the code the CLI's calls run.
 */

export interface ControlRoutesOptions {
  control: DaemonControl;
  logger: Logger;
  /** Largest accepted request body; default 64 KiB. */
  maxBodyBytes?: number;
}

export interface ControlRoutes {
  /** Answers one request; `path` is the path below the mount point (`/v1/status`). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** Ends the open event streams. */
  close(): void;
}

type Method = 'GET' | 'POST';
type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void;
interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

/** A client that does not read its event stream gets cut off rather than grow the daemon's memory. */
export const MAX_BUFFERED_EVENT_BYTES = 1024 * 1024;

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

export const failure = (status: number, code: ProtocolErrorCode, message: string): HttpFailure => ({
  status,
  code,
  message,
});

/** A path parameter, URL-decoded; undefined when it is not valid URL encoding. */
const decoded = (raw: string): string | undefined => {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
};

export const createControlRoutes = (options: ControlRoutesOptions): ControlRoutes => {
  const { control, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
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
        logger.warn('control client does not read its event stream; closing it');
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
          const id = decoded(raw);
          if (id === undefined)
            return sendError(res, failure(400, 'bad-request', `request id ${raw} is not valid URL encoding`));
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
    {
      pattern: /^\/v1\/sources\/([^/]+)\/versions$/,
      methods: {
        GET: async (_req, res, [raw = '']) => {
          const name = decoded(raw);
          if (name === undefined)
            return sendError(
              res,
              failure(400, 'bad-request', `source name ${raw} is not valid URL encoding`),
            );
          sendJson(res, 200, await control.versions(name));
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
          const name = decoded(raw);
          if (name === undefined)
            return sendError(
              res,
              failure(400, 'bad-request', `source name ${raw} is not valid URL encoding`),
            );
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
    { pattern: /^\/v1\/ui$/, methods: { GET: (_req, res) => sendJson(res, 200, control.ui()) } },
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

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const method = req.method ?? 'GET';
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

  return {
    handle,
    close: () => {
      for (const res of streams) res.end();
    },
  };
};
