import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpCall, rawExchange, type RawResponse } from '../support/socket-http.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';

/**
 * The control socket of a real daemon process: private to its user, and bad input of any kind gets a 4xx without
 * taking the daemon down. Raw node:net / node:http so nothing on the client side cleans the input up.
 */
const cleanup = createCleanup();
let project: DaemonProject;
let daemon: DaemonProcess;

const sendRaw = (bytes: Buffer): Promise<string> => rawExchange(project.socketPath, bytes);
/** One HTTP request over the socket; `body` as given (a string, or chunks sent without a content-length). */
const send = (
  method: string,
  path: string,
  body?: string | Buffer[],
  headers: Record<string, string> = {},
): Promise<RawResponse> => httpCall(project.socketPath, method, path, { body, headers });

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
    project = await createDaemonProject({ registryPort: registryPort() });
    cleanup.add(() => project.remove());
    daemon = await startDaemon(project);
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
    const json = { 'content-type': 'application/json' };
    // Pushes of the real source padded with whitespace: valid JSON, so had either got through, `app` would build.
    const huge = `{"sources": ["app"]${' '.repeat(100 * 1024)}}`;
    const declared = await send('POST', '/v1/push', huge, {
      ...json,
      'content-length': String(Buffer.byteLength(huge)),
    });
    expect([declared.status, errorCode(declared)]).toEqual([413, 'payload-too-large']);
    // Chunked, without a content-length: the daemon has to count while it reads.
    const chunks = [
      Buffer.from('{"sources": ["app"]'),
      ...Array.from({ length: 20 }, () => Buffer.alloc(8 * 1024, 0x20)),
      Buffer.from('}'),
    ];
    const streamed = await send('POST', '/v1/push', chunks, json);
    expect([streamed.status, errorCode(streamed)]).toEqual([413, 'payload-too-large']);
    await stillAnswers();
    // Nothing of the above reached the pipeline: the one push that fits is the only build.
    const valid = await send('POST', '/v1/push', '{"sources": ["app"]}', json);
    expect([valid.status, valid.json]).toEqual([200, { scheduled: ['app'] }]);
    await daemon.waitForEvent(isEvent('unchanged', { source: 'app' }), from);
    await vi.waitFor(async () => expect((await daemon.source('app')).state).toBe('idle'), WAIT);
    expect(daemon.eventsSince(from, isEvent('build', { source: 'app' }))).toHaveLength(1);
  });
});
