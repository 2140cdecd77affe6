import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createControlClient, tryDaemonReconcile } from '../../../src/daemon/control/control-client.js';
import { startControlServer, type ControlServer } from '../../../src/daemon/control/control-server.js';
import type { DaemonEvent } from '../../../src/daemon/control/control-types.js';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { httpCall } from '../../support/socket-http.js';
import { createFakeControl, tempDir, type FakeControl } from './control-fake.js';

let dir: string;
let cleanup: () => Promise<void>;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()));
  await cleanup();
});

const startReal = async (): Promise<{ fake: FakeControl; server: ControlServer; socketPath: string }> => {
  const fake = createFakeControl();
  const socketPath = join(dir, 'ksail-fluxd.sock');
  const server = await startControlServer({
    socketPath,
    control: fake.control,
    logger: createSilentLogger(),
  });
  closers.push(() => server.close());
  return { fake, server, socketPath };
};

/** A hand-written daemon that answers every request with the given response (for protocol edge cases). */
let canned = 0;
const startCanned = async (status: number, body: string, delayMs = 0): Promise<string> => {
  canned += 1;
  const socketPath = join(dir, `canned-${canned}.sock`);
  const server: Server = createServer((_req, res) => {
    const timer = setTimeout(
      () => res.writeHead(status, { 'content-type': 'application/json' }).end(body),
      delayMs,
    );
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return socketPath;
};

const event = (type: DaemonEvent['type'], source?: string): DaemonEvent => ({
  type,
  at: new Date().toISOString(),
  ...(source ? { source } : {}),
  data: { n: 1 },
});

describe('control client', () => {
  it('calls every endpoint and validates the answers', async () => {
    const { fake, socketPath } = await startReal();
    const client = createControlClient(socketPath);
    expect((await client.status()).sources).toHaveLength(2);
    expect((await client.reconcile({ sources: ['web'], wait: true })).requests[0]?.outcome).toBe('succeeded');
    expect((await client.request('req-1'))?.id).toBe('req-1');
    expect(await client.request('unknown/../id')).toBeUndefined();
    expect(await client.pause()).toEqual({ paused: true });
    expect(await client.resume()).toEqual({ paused: false });
    expect(await client.push()).toEqual({ scheduled: ['web', 'api'] });
    expect(fake.reconcileCalls).toEqual([{ sources: ['web'], wait: true }]);
  });

  it('turns daemon error bodies into KsailErrors with the daemon message', async () => {
    const { fake, socketPath } = await startReal();
    const client = createControlClient(socketPath);
    await expect(client.reconcile({ sources: ['nope'] })).rejects.toMatchObject({
      code: 'source-not-found',
      message: 'no source named "nope"; known sources: web, api',
    });
    fake.failNextReconcile(new KsailError('flux-disabled', 'gitOpsEngine is Kubectl; set it to Flux'));
    await expect(client.reconcile({})).rejects.toMatchObject({
      code: 'flux-disabled',
      message: 'gitOpsEngine is Kubectl; set it to Flux',
    });
  });

  it('rolls a source back through POST /v1/sources/{name}/rollback; an unknown version lists the known ones', async () => {
    const { fake, socketPath } = await startReal();
    const client = createControlClient(socketPath);
    await expect(client.rollback('web')).resolves.toMatchObject({ from: '1.0.3', to: '1.0.2' });
    await expect(client.rollback('web', { version: '1.0.1' })).resolves.toMatchObject({ to: '1.0.1' });
    await expect(client.rollback('web', { version: '9.9.9' })).rejects.toMatchObject({
      code: 'version-invalid',
      message: 'source web has no version 9.9.9; known versions: 1.0.3, 1.0.2, 1.0.1',
    });
    expect(fake.rollbackCalls).toEqual([
      { name: 'web', body: {} },
      { name: 'web', body: { version: '1.0.1' } },
      { name: 'web', body: { version: '9.9.9' } },
    ]);
  });

  it('validates request bodies before sending them', async () => {
    const { fake, socketPath } = await startReal();
    await expect(createControlClient(socketPath).reconcile({ sources: [''] })).rejects.toMatchObject({
      code: 'usage',
    });
    expect(fake.reconcileCalls).toEqual([]);
  });

  it('maps protocol errors, unexpected answers and silence', async () => {
    const badRequest = await startCanned(
      400,
      JSON.stringify({ error: { code: 'invalid-body', message: 'bad' } }),
    );
    await expect(createControlClient(badRequest).pause()).rejects.toMatchObject({
      code: 'usage',
      message: 'bad',
      details: expect.objectContaining({ status: 400, code: 'invalid-body' }),
    });
    await closers.pop()?.();

    const wrongShape = await startCanned(200, JSON.stringify({ pid: 'not a number' }));
    await expect(createControlClient(wrongShape).status()).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringContaining('does not match this client'),
    });
    await closers.pop()?.();

    const notJson = await startCanned(502, '<html>bad gateway</html>');
    await expect(createControlClient(notJson).status()).rejects.toMatchObject({ code: 'internal' });
    await closers.pop()?.();

    const slow = await startCanned(200, '{}', 5_000);
    await expect(createControlClient(slow, { timeoutMs: 50 }).status()).rejects.toMatchObject({
      code: 'internal',
      message: expect.stringContaining('did not answer GET /v1/status within 50 ms'),
    });
  });

  it('waits for a reconcile with wait beyond the plain-call limit, up to the limit the caller sets (issue #13)', async () => {
    const answer = JSON.stringify({ requests: [] });
    // The plain-call limit is 50 ms; the daemon answers the waiting reconcile after 300 ms.
    const slow = await startCanned(200, answer, 300);
    await expect(
      createControlClient(slow, { timeoutMs: 50 }).reconcile({ sources: [], wait: true }),
    ).resolves.toEqual({ requests: [] });
    await closers.pop()?.();

    const silent = await startCanned(200, answer, 5_000);
    const limit = { ms: 100, error: () => new KsailError('reconcile-timeout', 'the wait limit ended it') };
    await expect(
      createControlClient(silent).reconcile({ sources: [], wait: true }, { wait: limit }),
    ).rejects.toMatchObject({ code: 'reconcile-timeout', message: 'the wait limit ended it' });
  });

  it('reports daemon-not-running for a missing socket and tryDaemonReconcile returns undefined', async () => {
    const socketPath = join(dir, 'absent.sock');
    await expect(createControlClient(socketPath).status()).rejects.toMatchObject({
      code: 'daemon-not-running',
      message: `no ksail-fluxd daemon is listening on ${socketPath}; start it with "ksail-fluxd start"`,
    });
    expect(await tryDaemonReconcile(socketPath, { sources: ['web'] })).toBeUndefined();
  });

  it('tryDaemonReconcile goes through a running daemon', async () => {
    const { fake, socketPath } = await startReal();
    const response = await tryDaemonReconcile(socketPath, { sources: ['web'], wait: true });
    expect(response?.requests[0]?.id).toBe('req-1');
    expect(fake.reconcileCalls).toEqual([{ sources: ['web'], wait: true }]);
    await expect(tryDaemonReconcile(socketPath, { sources: ['nope'] })).rejects.toMatchObject({
      code: 'source-not-found',
    });
  });
});

describe('event stream', () => {
  it('streams NDJSON events in order and unsubscribes when the client goes away', async () => {
    const { fake, socketPath } = await startReal();
    const received: DaemonEvent[] = [];
    const controller = new AbortController();
    const done = createControlClient(socketPath).events((e) => received.push(e), controller.signal);
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(1));
    const sent = [event('change', 'web'), event('build', 'web'), event('push', 'web'), event('paused')];
    for (const item of sent) fake.emit(item);
    await vi.waitFor(() => expect(received).toHaveLength(4));
    expect(received).toEqual(sent);
    controller.abort();
    await done;
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(0));
  });

  it('serves application/x-ndjson and flushes each event as it happens', async () => {
    const { fake, socketPath } = await startReal();
    const { request } = await import('node:http');
    const lines: string[] = [];
    let contentType: string | undefined;
    const req = request({ socketPath, path: '/v1/events' }, (res) => {
      contentType = res.headers['content-type'];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    });
    req.end();
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(1));
    fake.emit(event('push', 'web'));
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    expect(contentType).toBe('application/x-ndjson');
    fake.emit(event('reconcile-finished', 'web'));
    await vi.waitFor(() => expect(lines).toHaveLength(2));
    expect(JSON.parse(lines[1]!).type).toBe('reconcile-finished');
    req.destroy();
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(0));
  });

  it('ends when the server closes, and the server keeps serving other clients meanwhile', async () => {
    const { fake, server, socketPath } = await startReal();
    const done = createControlClient(socketPath).events(() => undefined);
    await vi.waitFor(() => expect(fake.listenerCount()).toBe(1));
    expect((await httpCall(socketPath, 'GET', '/v1/status')).status).toBe(200);
    await server.close();
    await expect(done).resolves.toBeUndefined();
    expect(fake.listenerCount()).toBe(0);
  });
});
