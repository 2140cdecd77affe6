import { execa } from 'execa';
import { chmod, lstat, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient } from '../../../src/daemon/control/control-client.js';
import { startControlServer, type ControlServer } from '../../../src/daemon/control/control-server.js';
import { probeSocket } from '../../../src/daemon/control/socket-claim.js';
import {
  assertSocketPathLength,
  resolveSocketPath,
  socketPathLimit,
} from '../../../src/daemon/control/socket-path.js';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { createFakeControl, tempDir } from './control-fake.js';
import { rejectionOf } from '../../support/rejection.js';

const teardown: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.allSettled(
    teardown
      .splice(0)
      .reverse()
      .map((step) => step()),
  );
});

const setup = async () => {
  const temp = await tempDir();
  teardown.push(temp.cleanup);
  return temp.dir;
};

const start = async (socketPath: string, env: NodeJS.ProcessEnv, pid = 4242): Promise<ControlServer> => {
  const server = await startControlServer({
    socketPath,
    control: createFakeControl(pid).control,
    logger: createSilentLogger(),
    env,
  });
  teardown.push(() => server.close());
  return server;
};

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('control socket', () => {
  it('creates the socket with mode 0600 inside a new 0700 directory', async () => {
    const dir = await setup();
    const socketPath = join(dir, 'state', 'run', 'ksail-fluxd.sock');
    const previous = process.umask(0);
    try {
      await start(socketPath, { XDG_STATE_HOME: dir });
    } finally {
      process.umask(previous);
    }
    expect((await lstat(socketPath)).isSocket()).toBe(true);
    expect(await mode(socketPath)).toBe(0o600);
    expect(await mode(join(dir, 'state', 'run'))).toBe(0o700);
  });

  it('tightens an existing shared directory under the state dir but leaves other directories alone', async () => {
    const dir = await setup();
    const ours = join(dir, 'state', 'ksail-fluxd', 'run');
    await mkdir(ours, { recursive: true });
    await chmod(ours, 0o755);
    await start(join(ours, 'ksail-fluxd.sock'), { XDG_STATE_HOME: join(dir, 'state') });
    expect(await mode(ours)).toBe(0o700);

    const theirs = join(dir, 'shared');
    await mkdir(theirs);
    await chmod(theirs, 0o755);
    await start(join(theirs, 'ksail-fluxd.sock'), { XDG_STATE_HOME: join(dir, 'state') });
    expect(await mode(theirs)).toBe(0o755);
    expect(await mode(join(theirs, 'ksail-fluxd.sock'))).toBe(0o600);
  });

  it('removes a stale socket left by a killed daemon and starts', async () => {
    const dir = await setup();
    const socketPath = join(dir, 'ksail-fluxd.sock');
    // A real process that binds the socket and dies without cleaning up (SIGKILL), like a crashed daemon.
    const child = execa('node', [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
    ]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await child.catch(() => undefined);
    expect(await probeSocket(socketPath)).toBe('stale');

    await start(socketPath, {});
    const status = await createControlClient(socketPath).status();
    expect(status.pid).toBe(4242);
  });

  it('refuses a second daemon on a live socket, naming the path and the first pid', async () => {
    const dir = await setup();
    const socketPath = join(dir, 'ksail-fluxd.sock');
    await start(socketPath, {}, 1111);
    const second = start(socketPath, {}, 2222);
    await expect(second).rejects.toMatchObject({ code: 'daemon-already-running' });
    const error = await rejectionOf(second, KsailError);
    expect(error.message).toContain(socketPath);
    expect(error.message).toContain('pid 1111');
    expect(error.message).toContain('systemctl --user stop ksail-fluxd');
    expect(error.message).toContain('socket.path');
    // The first one is unharmed.
    expect((await createControlClient(socketPath).status()).pid).toBe(1111);
  });

  it('refuses a path that exists and is not a socket', async () => {
    const dir = await setup();
    const socketPath = join(dir, 'ksail-fluxd.sock');
    await writeFile(socketPath, 'not a socket');
    await expect(start(socketPath, {})).rejects.toMatchObject({ code: 'unsafe-path' });
  });

  it('rejects socket paths longer than sun_path allows, saying how to fix it', async () => {
    const long = `/tmp/${'x'.repeat(120)}/ksail-fluxd.sock`;
    const attempt = start(long, {});
    await expect(attempt).rejects.toMatchObject({ code: 'socket-path-too-long' });
    const error = await rejectionOf(attempt, KsailError);
    expect(error.message).toContain(long);
    expect(error.message).toContain(`${Buffer.byteLength(long)} bytes`);
    expect(error.message).toContain('107');
    expect(error.message).toContain('socket.path');
    expect(error.message).toContain('XDG_RUNTIME_DIR');

    const path104 = `/${'y'.repeat(103)}`;
    expect(socketPathLimit('linux')).toBe(107);
    expect(socketPathLimit('darwin')).toBe(103);
    expect(() => assertSocketPathLength(path104, 'linux')).not.toThrow();
    expect(() => assertSocketPathLength(path104, 'darwin')).toThrow(/at most 103/);
  });

  it('close() is idempotent, removes the socket file, and the client then reports no daemon', async () => {
    const dir = await setup();
    const socketPath = join(dir, 'ksail-fluxd.sock');
    const server = await start(socketPath, {});
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(await probeSocket(socketPath)).toBe('absent');
    await expect(createControlClient(socketPath).status()).rejects.toMatchObject({
      code: 'daemon-not-running',
      message: `no ksail-fluxd daemon is listening on ${socketPath}; start it with "ksail-fluxd start"`,
    });
  });

  it('resolves the socket path from the config, XDG_RUNTIME_DIR or the state dir', () => {
    expect(resolveSocketPath({ socket: { path: '/run/x.sock' } }, {})).toBe('/run/x.sock');
    expect(resolveSocketPath({ socket: { path: 'x.sock' }, baseDir: '/proj' }, {})).toBe('/proj/x.sock');
    expect(resolveSocketPath({ socket: {} }, { XDG_RUNTIME_DIR: '/run/user/1000' })).toBe(
      '/run/user/1000/ksail-fluxd.sock',
    );
    expect(resolveSocketPath(undefined, { HOME: '/home/u' })).toBe(
      '/home/u/.local/state/ksail-fluxd/run/ksail-fluxd.sock',
    );
  });
});
