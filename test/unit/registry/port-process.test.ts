import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { portTakenError } from '../../../src/registry/runtime/probe.js';
import { findPortProcess, processHolder } from '../../../src/registry/runtime/port-process.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.allSettled(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

const listen = async (host: string): Promise<number> => {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as { port: number }).port;
};

/** Issue 9, §2: the README says a taken port names its holder; a plain process was "another process". */
describe.runIf(process.platform === 'linux')('findPortProcess', () => {
  it('names the process listening on the port, with its command line', async () => {
    const port = await listen('127.0.0.1');
    const found = await findPortProcess(port);
    expect(found?.pid).toBe(process.pid);
    expect(found?.command).toContain('node');
  });

  it('finds a listener on every address too (it takes the loopback port as well)', async () => {
    const port = await listen('0.0.0.0');
    expect((await findPortProcess(port))?.pid).toBe(process.pid);
  });

  it('finds nothing on a free port', async () => {
    const port = await listen('127.0.0.1');
    await new Promise((resolve) => servers.pop()?.close(resolve));
    expect(await findPortProcess(port)).toBeUndefined();
  });

  it('the port-taken error names the process and how to stop it', async () => {
    const port = await listen('127.0.0.1');
    const error = portTakenError(port, await processHolder(port));
    expect(error.message).toContain(`port ${port} on 127.0.0.1 is already taken by process ${process.pid} (`);
    expect(error.message).toContain(`stop it (kill ${process.pid})`);
    expect(error.message).toContain('set registryPort');
    expect(error.details).toMatchObject({ port, pid: process.pid });
  });
});
