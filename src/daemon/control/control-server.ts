import type { Clock } from '../../clock.js';
import { chmod, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { DaemonControl } from './control-types.js';
import { createControlRoutes, failure } from './control-routes.js';
import { claimSocketPath, listenOnSocket } from './socket-claim.js';
import { onClientError, sendError } from './socket-http.js';
import { assertSocketPathLength, prepareSocketDir } from './socket-path.js';

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

export const startControlServer = async (options: ControlServerOptions): Promise<ControlServer> => {
  const { socketPath, control, logger } = options;
  assertSocketPathLength(socketPath, options.platform);
  await prepareSocketDir(socketPath, options.env ?? process.env, logger);
  await claimSocketPath(socketPath, logger, options.clock);

  const routes = createControlRoutes({
    control,
    logger,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://ksail-fluxd').pathname;
    } catch {
      return sendError(res, failure(400, 'bad-request', `invalid request target ${req.url ?? ''}`));
    }
    await routes.handle(req, res, path);
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
      routes.close();
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
