import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { defaultSocketPath, stateDir } from '../../paths.js';

/**
 * Where the control socket lives and how its directory is made private. The socket is the daemon's only
 * authentication: whoever can connect can pause it or trigger pushes, so it must be reachable by its user only.
 */

/** sun_path holds 108 bytes on Linux and 104 on macOS/BSD, including the terminating NUL. */
export const socketPathLimit = (platform: NodeJS.Platform = process.platform): number =>
  platform === 'linux' ? 107 : 103;

/** Throws KsailError('socket-path-too-long') when the kernel would refuse to bind the path. */
export const assertSocketPathLength = (path: string, platform: NodeJS.Platform = process.platform): void => {
  const length = Buffer.byteLength(path);
  const limit = socketPathLimit(platform);
  if (length > limit) {
    throw new KsailError(
      'socket-path-too-long',
      `the control socket path ${path} is ${length} bytes long, but Unix sockets allow at most ${limit}; ` +
        'set socket.path in the config to a shorter path (or use a shorter XDG_RUNTIME_DIR)',
      { details: { path, length, limit } },
    );
  }
};

/**
 * The socket path for a config: `socket.path` (relative paths resolve against the config's directory), else
 * `$XDG_RUNTIME_DIR/ksail-fluxd.sock`, else `<state dir>/run/ksail-fluxd.sock`.
 */
export const resolveSocketPath = (
  config: { socket?: { path?: string | undefined }; baseDir?: string } | undefined,
  env: NodeJS.ProcessEnv,
): string => {
  const configured = config?.socket?.path;
  if (!configured) return defaultSocketPath(env);
  return isAbsolute(configured) ? configured : resolve(config?.baseDir ?? process.cwd(), configured);
};

const isInside = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/**
 * Makes sure the socket's directory exists and only its user can enter it, so the socket is private from the
 * moment it is bound whatever the umask. A missing directory is created with mode 0700. An existing directory
 * under our state dir is tightened to 0700 (we made it); any other directory (e.g. $XDG_RUNTIME_DIR, which
 * systemd keeps at 0700, or a path the user chose) is left alone, and a warning says when it is shared.
 */
export const prepareSocketDir = async (
  socketPath: string,
  env: NodeJS.ProcessEnv,
  logger?: Logger,
): Promise<void> => {
  const dir = dirname(socketPath);
  let created = false;
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      throw new KsailError(
        'unsafe-path',
        `the control socket directory ${dir} exists but is not a directory; remove it or set socket.path`,
        { details: { path: dir } },
      );
    }
  } catch (error) {
    if (code(error) !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  const info = await stat(dir);
  const shared = (info.mode & 0o077) !== 0;
  if (!shared) return;
  if (created || isInside(dir, stateDir(env))) {
    // mkdir's mode is filtered by the umask and may not be what we asked for; chmod is not.
    await chmod(dir, 0o700);
    return;
  }
  logger?.warn('control socket directory is accessible by other users; the socket itself is mode 0600', {
    dir,
    mode: (info.mode & 0o777).toString(8),
  });
};
