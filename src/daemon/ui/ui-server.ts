import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../clock.js';
import { describeError, KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { createControlRoutes, MAX_BUFFERED_EVENT_BYTES } from '../control/control-routes.js';
import type { DaemonControl, DaemonEvent } from '../control/control-types.js';
import { onClientError, sendError } from '../control/socket-http.js';
import type { UiAssets } from './ui-assets.js';
import {
  cookieToken,
  crossSite,
  hostAllowed,
  newUiToken,
  originAllowed,
  SECURITY_HEADERS,
  sessionCookie,
  tokenMatches,
} from './ui-guard.js';

/**
 * The dashboard (issue #12): one page and its files, an event stream (Server-Sent Events from the daemon's bus)
 * and, under `/api`, the control API's own handler table (control-routes.ts), all on 127.0.0.1 only. Every
 * request passes the checks of ui-guard.ts first.
 */

export interface UiServerOptions {
  /** 0 picks a free port. */
  port: number;
  control: DaemonControl;
  assets: UiAssets;
  logger: Logger;
  clock: Clock;
  /** Fixed in tests; default a random 256-bit token. */
  token?: string;
}

export interface UiServer {
  port: number;
  /** The first URL, with the token; never logged. */
  url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Events come in bursts (a checkout); the page gets one status snapshot per burst. */
const STATUS_COALESCE_MS = 50;

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** JSON for the API (as the socket answers), a line of text for a person who opened a page. */
const refuse = (res: ServerResponse, status: number, code: string, message: string): void => {
  if (res.req.url?.startsWith('/api/')) return sendError(res, { status, code, message });
  const text = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  res.end(text);
};

export const startUiServer = async (options: UiServerOptions): Promise<UiServer> => {
  const { control, assets, logger, clock } = options;
  const token = options.token ?? newUiToken();
  const routes = createControlRoutes({ control, logger });
  const streams = new Set<ServerResponse>();
  let port = options.port;

  /** `GET /api/events`: `status` snapshots and the bus's `daemon` events, as Server-Sent Events. */
  const events = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
    });
    streams.add(res);
    const send = (event: string, data: unknown): void => {
      if (res.destroyed || res.writableEnded) return;
      if (res.writableLength > MAX_BUFFERED_EVENT_BYTES) {
        logger.warn('dashboard does not read its event stream; closing it');
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let pending: (() => void) | undefined;
    const snapshot = (): void => {
      pending = undefined;
      send('status', control.status());
    };
    const unsubscribe = control.subscribe((event: DaemonEvent) => {
      send('daemon', event);
      pending ??= clock.after(STATUS_COALESCE_MS, snapshot);
    });
    res.once('close', () => {
      streams.delete(res);
      pending?.();
      unsubscribe();
    });
    res.write('retry: 1000\n\n');
    snapshot();
    req.resume();
  };

  const serveAsset = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const asset = assets.get(path === '/' ? '/index.html' : path);
    if (!asset) return refuse(res, 404, 'not-found', `no dashboard file ${path}`);
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': String(asset.body.length),
      'cache-control': asset.immutable ? 'private, max-age=31536000, immutable' : 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const method = req.method ?? 'GET';
    if (!hostAllowed(req.headers.host, port)) {
      return refuse(
        res,
        421,
        'host-refused',
        `the dashboard answers only to 127.0.0.1:${port} and localhost:${port}; open the URL "ksail-fluxd ui" prints`,
      );
    }
    if (crossSite(req.headers))
      return refuse(res, 403, 'cross-site', 'requests from other sites are refused');
    // The target as sent, not resolved against a base: `//x` is a path here, never another host.
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const given = queryAt < 0 ? null : new URLSearchParams(target.slice(queryAt + 1)).get('token');
    if (path === '/' && given !== null && SAFE_METHODS.has(method)) {
      if (!tokenMatches(given, token)) {
        return refuse(
          res,
          403,
          'token-invalid',
          'this dashboard link is not valid; get a new one with "ksail-fluxd ui"',
        );
      }
      // The token moves into the cookie, and the redirect takes it out of the address bar and the history.
      res.writeHead(303, { 'set-cookie': sessionCookie(port, token), location: '/' });
      res.end();
      return;
    }
    if (!tokenMatches(cookieToken(req.headers.cookie, port), token)) {
      return refuse(res, 401, 'token-missing', 'open the dashboard with the link "ksail-fluxd ui" prints');
    }
    if (!SAFE_METHODS.has(method) && !originAllowed(req.headers.origin, port)) {
      return refuse(
        res,
        403,
        'origin-refused',
        'state-changing requests must come from the dashboard itself',
      );
    }
    if (path === '/api/events' && method === 'GET') return events(req, res);
    if (path.startsWith('/api/')) return routes.handle(req, res, path.slice('/api'.length));
    if (!SAFE_METHODS.has(method)) {
      return sendError(res, {
        status: 405,
        code: 'method-not-allowed',
        message: `${method} is not allowed on ${path}`,
        headers: { allow: 'GET, HEAD' },
      });
    }
    serveAsset(req, res, path);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Never the URL: the first one carries the token.
      logger.error('dashboard request failed', { error: describeError(error) });
      if (!res.headersSent) refuse(res, 500, 'internal', 'internal error in the daemon; see its log');
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('clientError', (error, socket) => onClientError(error, socket, logger));

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(
        error.code === 'EADDRINUSE'
          ? new KsailError(
              'port-taken',
              `port ${options.port} on 127.0.0.1 for the dashboard is taken; set ui.port to a free port (0 picks one)`,
              { cause: error, details: { port: options.port, key: 'ui.port' } },
            )
          : error,
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // Loopback only, whatever the config says (issue #12).
    server.listen(options.port, '127.0.0.1');
  });
  port = (server.address() as AddressInfo).port;
  logger.info('dashboard listening', { address: `http://127.0.0.1:${port}/` });

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: () => {
      closing ??= (async () => {
        routes.close();
        for (const res of streams) res.end();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
};
