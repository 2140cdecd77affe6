import { lstat, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { systemClock, type Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { createControlClient } from './control-client.js';

export type SocketState = 'absent' | 'stale' | 'live';

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** Connects to the socket: `live` when something accepts, `stale` when the file is left by a dead process. */
export const probeSocket = async (
  socketPath: string,
  timeoutMs = 2000,
  clock: Clock = systemClock,
): Promise<SocketState> => {
  try {
    const info = await lstat(socketPath);
    if (!info.isSocket()) {
      throw new KsailError(
        'unsafe-path',
        `${socketPath} exists but is not a socket; remove it or set socket.path to another path`,
        { details: { path: socketPath } },
      );
    }
  } catch (error) {
    if (errno(error) === 'ENOENT') return 'absent';
    throw error;
  }
  return new Promise<SocketState>((resolve, reject) => {
    const socket = connect({ path: socketPath });
    const cancelTimer = clock.after(timeoutMs, () => {
      // A listener that does not even accept is wedged, not gone: treat it as live rather than steal its path.
      socket.destroy();
      resolve('live');
    });
    socket.once('connect', () => {
      cancelTimer();
      socket.destroy();
      resolve('live');
    });
    socket.once('error', (error) => {
      cancelTimer();
      socket.destroy();
      const code = errno(error);
      if (code === 'ECONNREFUSED') resolve('stale');
      else if (code === 'ENOENT') resolve('absent');
      else if (code === 'EACCES' || code === 'EPERM') {
        reject(
          new KsailError(
            'unsafe-path',
            `cannot use the control socket ${socketPath}: permission denied (another user's daemon?); ` +
              'set socket.path in the config to a path of your own',
            { cause: error, details: { path: socketPath } },
          ),
        );
      } else reject(error);
    });
  });
};

export const alreadyRunning = (socketPath: string, pid?: number): KsailError =>
  new KsailError(
    'daemon-already-running',
    `another ksail-fluxd daemon${pid === undefined ? '' : ` (pid ${pid})`} is already listening on ${socketPath}; ` +
      'stop it first ("systemctl --user stop ksail-fluxd", or kill the pid shown by "ksail-fluxd status") ' +
      'or set socket.path in the config to run a second daemon',
    { details: { socketPath, ...(pid === undefined ? {} : { pid }) } },
  );

/**
 * Makes the path free for a new listener: nothing there is fine, a stale socket (ECONNREFUSED) is removed, a
 * live one means another daemon owns it and this one must not start.
 */
export const claimSocketPath = async (
  socketPath: string,
  logger: Logger,
  clock: Clock = systemClock,
): Promise<void> => {
  const state = await probeSocket(socketPath, 2000, clock);
  if (state === 'live') {
    const pid = await createControlClient(socketPath, { timeoutMs: 1000, clock })
      .status()
      .then((status) => status.pid)
      .catch(() => undefined);
    throw alreadyRunning(socketPath, pid);
  }
  if (state === 'stale') {
    logger.info('removing stale control socket', { socketPath });
    await unlink(socketPath).catch((error: unknown) => {
      if (errno(error) !== 'ENOENT') throw error;
    });
  }
};

/** server.listen on the path; EADDRINUSE (another daemon bound it after our probe) is daemon-already-running. */
export const listenOnSocket = (server: Server, socketPath: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      // Another daemon bound the path between our probe and our listen.
      reject(error.code === 'EADDRINUSE' ? alreadyRunning(socketPath) : error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(socketPath);
  });
