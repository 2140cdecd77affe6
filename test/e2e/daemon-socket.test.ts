import { rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';

/**
 * The control socket of a real daemon process: private to its user, and bad input of any kind gets a 4xx without
 * taking the daemon down. Raw node:net / node:http so nothing on the client side cleans the input up.
 */
const endpoint = inject('registryEndpoint');
const cleanup = createCleanup();
let project: DaemonProject;
let daemon: DaemonProcess;

interface RawResponse {
  status: number;
  body: string;
}

/** Writes bytes that are not HTTP and reads whatever comes back until the daemon closes the connection. */
const sendRaw = (bytes: Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect({ path: project.socketPath });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.end(bytes);
  });

/** One HTTP request over the socket; `body` as given (a string, or chunks sent without a content-length). */
const send = (
  method: string,
  path: string,
  body?: string | Buffer[],
  headers: Record<string, string> = {},
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: project.socketPath, method, path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    // The daemon may close the connection after answering 413 while the rest of the body is still being sent.
    req.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else req.end(body);
  });

const errorCode = (response: RawResponse): string =>
  (JSON.parse(response.body) as { error: { code: string } }).error.code;

const stillAnswers = async (): Promise<void> => {
  const status = await send('GET', '/v1/status');
  expect(status.status).toBe(200);
  expect(JSON.parse(status.body)).toMatchObject({ pid: daemon.pid, sources: [{ name: 'app' }] });
};

describe('ksail-fluxd control socket (e2e)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    project = await createDaemonProject({ registryPort: Number(endpoint.split(':')[1]) });
    cleanup.add(() => rm(project.dir, { recursive: true, force: true }));
    daemon = await startDaemon({
      configPath: project.configPath,
      dir: project.dir,
      socketPath: project.socketPath,
    });
    cleanup.add(() => daemon.dispose());
    await vi.waitFor(async () => expect((await daemon.source('app')).lastVersion).toBe('1.0.0'), WAIT);
  });

  afterAll(() => cleanup.run());

  it('is a socket that only its user can open (mode 0600)', async () => {
    const info = await stat(project.socketPath);
    expect(info.isSocket()).toBe(true);
    expect((info.mode & 0o777).toString(8)).toBe('600');
    expect(info.uid).toBe(process.getuid?.());
  });

  it('answers bytes that are not HTTP with a JSON 400 and keeps serving', async () => {
    const answer = await sendRaw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x00, 0x0d, 0x0a]));
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"code":"bad-request"');
    const text = await sendRaw(Buffer.from('HELLO daemon, are you there?\r\n\r\n'));
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    await stillAnswers();
  });

  it('answers wrong JSON with 400', async () => {
    const json = { 'content-type': 'application/json' };
    const broken = await send('POST', '/v1/reconcile', '{"sources": [', json);
    expect([broken.status, errorCode(broken)]).toEqual([400, 'invalid-json']);
    const wrongShape = await send('POST', '/v1/push', '{"sources": "app", "extra": 1}', json);
    expect([wrongShape.status, errorCode(wrongShape)]).toEqual([400, 'invalid-body']);
    const notAnArray = await send('POST', '/v1/reconcile', '[1, 2, 3]', json);
    expect([notAnArray.status, errorCode(notAnArray)]).toEqual([400, 'invalid-body']);
    await stillAnswers();
  });

  it('answers a body over 64 KiB with 413, declared or streamed', async () => {
    const from = daemon.mark();
    const huge = JSON.stringify({ sources: ['x'.repeat(100 * 1024)] });
    const declared = await send('POST', '/v1/push', huge, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(huge)),
    });
    expect([declared.status, errorCode(declared)]).toEqual([413, 'payload-too-large']);
    // Chunked, without a content-length: the daemon has to count while it reads.
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(8 * 1024, 0x20));
    const streamed = await send('POST', '/v1/reconcile', chunks, { 'content-type': 'application/json' });
    expect([streamed.status, errorCode(streamed)]).toEqual([413, 'payload-too-large']);
    await stillAnswers();
    // Nothing of the above reached the pipeline: no push was scheduled.
    expect(daemon.eventsSince(from, (event) => event.type === 'build')).toEqual([]);
  });
});
