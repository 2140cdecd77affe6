import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DaemonStatus,
  ErrorBody,
  ReconcileResponse,
  RequestView,
} from '../../../src/daemon/control/control-types.js';
import { startControlServer, type ControlServer } from '../../../src/daemon/control/control-server.js';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import { httpCall, postJson, rawExchange } from '../../support/socket-http.js';
import { createFakeControl, tempDir, type FakeControl } from './control-fake.js';

let fake: FakeControl;
let server: ControlServer;
let socketPath: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  const temp = await tempDir();
  cleanup = temp.cleanup;
  socketPath = join(temp.dir, 'run', 'ksail-fluxd.sock');
  fake = createFakeControl();
  server = await startControlServer({
    socketPath,
    control: fake.control,
    logger: createSilentLogger(),
    maxBodyBytes: 1024,
    env: { HOME: temp.dir },
  });
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

const expectError = (response: { status: number; json: unknown }, status: number, code: string) => {
  expect(response.status).toBe(status);
  const body = ErrorBody.parse(response.json);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error.message;
};

const stillAnswers = async () => {
  const response = await httpCall(socketPath, 'GET', '/v1/status');
  expect(response.status).toBe(200);
};

describe('control server endpoints', () => {
  it('GET /v1/status returns the daemon status as JSON', async () => {
    const response = await httpCall(socketPath, 'GET', '/v1/status');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const status = DaemonStatus.parse(response.json);
    expect(status.pid).toBe(4242);
    expect(status.sources.map((source) => source.name)).toEqual(['web', 'api']);
  });

  it('POST /v1/reconcile passes the validated body with defaults and returns the requests', async () => {
    const waited = await postJson(socketPath, '/v1/reconcile', { sources: ['web'], wait: true });
    expect(waited.status).toBe(200);
    expect(ReconcileResponse.parse(waited.json).requests[0]?.outcome).toBe('succeeded');
    const queued = await httpCall(socketPath, 'POST', '/v1/reconcile');
    expect(ReconcileResponse.parse(queued.json).requests[0]?.outcome).toBe('pending');
    expect(fake.reconcileCalls).toEqual([
      { sources: ['web'], wait: true },
      { sources: [], wait: false },
    ]);
  });

  it('maps source-not-found to 404, other daemon errors to 409 and unexpected ones to 500', async () => {
    const missing = await postJson(socketPath, '/v1/reconcile', { sources: ['nope'] });
    expect(expectError(missing, 404, 'source-not-found')).toContain('no source named "nope"');
    fake.failNextReconcile(
      new KsailError('cluster-unreachable', 'cannot reach the cluster; check kubeconfig'),
    );
    const conflict = await postJson(socketPath, '/v1/reconcile', {});
    expect(expectError(conflict, 409, 'cluster-unreachable')).toBe(
      'cannot reach the cluster; check kubeconfig',
    );
    fake.failNextReconcile(new Error('boom'));
    expectError(await postJson(socketPath, '/v1/reconcile', {}), 500, 'internal');
    await stillAnswers();
  });

  it('GET /v1/requests/{id} returns the request or 404', async () => {
    const found = await httpCall(socketPath, 'GET', '/v1/requests/req-1');
    expect(RequestView.parse(found.json).id).toBe('req-1');
    expectError(await httpCall(socketPath, 'GET', '/v1/requests/req-404'), 404, 'request-not-found');
  });

  it('POST /v1/pause and /v1/resume toggle the daemon', async () => {
    expect((await httpCall(socketPath, 'POST', '/v1/pause')).json).toEqual({ paused: true });
    expect(fake.control.status().paused).toBe(true);
    expect((await httpCall(socketPath, 'POST', '/v1/resume')).json).toEqual({ paused: false });
    expect(fake.control.status().paused).toBe(false);
  });

  it('POST /v1/push accepts an empty body (all sources) or a list', async () => {
    expect((await httpCall(socketPath, 'POST', '/v1/push')).json).toEqual({ scheduled: ['web', 'api'] });
    expect((await postJson(socketPath, '/v1/push', { sources: ['api'] })).json).toEqual({
      scheduled: ['api'],
    });
    expect(fake.pushCalls).toEqual([
      { sources: [], wait: false },
      { sources: ['api'], wait: false },
    ]);
  });

  it('answers unknown paths with 404 and wrong methods with 405 and Allow', async () => {
    expectError(await httpCall(socketPath, 'GET', '/v2/status'), 404, 'not-found');
    const wrong = await httpCall(socketPath, 'DELETE', '/v1/status');
    expectError(wrong, 405, 'method-not-allowed');
    expect(wrong.headers.allow).toBe('GET');
    expect((await httpCall(socketPath, 'GET', '/v1/pause')).headers.allow).toBe('POST');
  });
});

describe('control server on bad input', () => {
  it('rejects malformed JSON, wrong types and unknown keys with 400', async () => {
    const headers = { 'content-type': 'application/json' };
    expectError(
      await httpCall(socketPath, 'POST', '/v1/reconcile', { body: '{"sources": [', headers }),
      400,
      'invalid-json',
    );
    expect(
      expectError(await postJson(socketPath, '/v1/reconcile', { wait: 'yes' }), 400, 'invalid-body'),
    ).toContain('wait');
    expect(
      expectError(
        await postJson(socketPath, '/v1/push', { sources: ['a'], force: true }),
        400,
        'invalid-body',
      ),
    ).toContain('force');
    expectError(await postJson(socketPath, '/v1/push', [1, 2]), 400, 'invalid-body');
    expect(fake.reconcileCalls).toEqual([]);
    await stillAnswers();
  });

  it('rejects bodies that are not JSON with 415', async () => {
    const typed = await httpCall(socketPath, 'POST', '/v1/push', {
      body: 'sources=web',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(typed, 415, 'unsupported-media-type');
    expectError(
      await httpCall(socketPath, 'POST', '/v1/push', { body: '{}' }),
      415,
      'unsupported-media-type',
    );
    await stillAnswers();
  });

  it('answers 413 to a declared huge body without reading it', async () => {
    const response = await rawExchange(
      socketPath,
      'POST /v1/reconcile HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"sources":',
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain('"payload-too-large"');
    await stillAnswers();
  });

  it('stops reading a chunked body once it passes the limit', async () => {
    const chunk = `${(2048).toString(16)}\r\n${'x'.repeat(2048)}\r\n`;
    const response = await rawExchange(
      socketPath,
      `POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(fake.pushCalls).toEqual([]);
    await stillAnswers();
  });

  it('answers garbage bytes with a JSON 400 and closes that connection', async () => {
    const response = await rawExchange(
      socketPath,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0xff, 0x00, 0x0a, 0x0d, 0x0a]),
    );
    expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(response).toContain('"bad-request"');
    expect(await rawExchange(socketPath, 'HELLO WORLD\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    await stillAnswers();
  });

  it('answers oversized headers with 431', async () => {
    const response = await rawExchange(
      socketPath,
      `GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    await stillAnswers();
  });

  it('survives a client that disconnects in the middle of a request', async () => {
    const socket = connect({ path: socketPath });
    await new Promise<void>((resolve) =>
      socket.write(
        'POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"so',
        () => resolve(),
      ),
    );
    socket.destroy();
    await stillAnswers();
    expect(fake.pushCalls).toEqual([]);
  });
});
