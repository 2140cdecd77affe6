import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  DaemonControl,
  DaemonEvent,
  DaemonStatus,
  PushBody,
  ReconcileBody,
  RequestView,
} from '../../../src/daemon/control-types.js';
import { KsailError } from '../../../src/errors.js';

/** A DaemonControl double for the control server tests: records calls, emits events on demand. */
export interface FakeControl {
  control: DaemonControl;
  emit(event: DaemonEvent): void;
  listenerCount(): number;
  reconcileCalls: ReconcileBody[];
  pushCalls: PushBody[];
  /** Makes the next reconcile throw this. */
  failNextReconcile(error: Error): void;
}

export const requestView: RequestView = {
  id: 'req-1',
  sources: ['web'],
  mode: 'Automatic',
  requestedAt: '2025-01-01T10:00:00.123Z',
  outcome: 'succeeded',
  startedAt: '2025-01-01T10:00:00.200Z',
  finishedAt: '2025-01-01T10:00:01.700Z',
  durationMs: 1500,
  results: [{ source: 'web', revision: '1.0.3@sha256:abc' }],
};

export const createFakeControl = (pid = 4242): FakeControl => {
  const listeners = new Set<(event: DaemonEvent) => void>();
  let paused = false;
  let failure: Error | undefined;
  const reconcileCalls: ReconcileBody[] = [];
  const pushCalls: PushBody[] = [];
  const status = (): DaemonStatus => ({
    pid,
    version: '0.1.0',
    mode: 'Automatic',
    paused,
    startedAt: '2025-01-01T09:00:00.000Z',
    registry: { status: 'Running', endpoint: 'localhost:5050' },
    cluster: { reachable: true },
    sources: [
      {
        name: 'web',
        path: '/work/web',
        repository: 'demo/web',
        lastVersion: '1.0.3',
        digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
        pushedAt: '2025-01-01T10:00:00.000Z',
        tagPatched: true,
        state: 'idle',
        pendingRequests: [],
      },
      {
        name: 'api',
        path: '/work/api',
        repository: 'demo/api',
        state: 'error',
        lastError: 'kustomize build failed: missing resource',
        pendingRequests: ['req-2'],
      },
    ],
    recentRequests: [requestView],
  });
  const control: DaemonControl = {
    status,
    reconcile: (body) => {
      reconcileCalls.push(body);
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      const missing = body.sources.find((name) => name !== 'web' && name !== 'api');
      if (missing) {
        return Promise.reject(
          new KsailError('source-not-found', `no source named "${missing}"; known sources: web, api`),
        );
      }
      return Promise.resolve({
        requests: [{ ...requestView, outcome: body.wait ? 'succeeded' : 'pending' }],
      });
    },
    request: (id) => (id === requestView.id ? requestView : undefined),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    push: (body) => {
      pushCalls.push(body);
      return Promise.resolve({ scheduled: body.sources.length ? body.sources : ['web', 'api'] });
    },
  };
  return {
    control,
    emit: (event) => listeners.forEach((listener) => listener(event)),
    listenerCount: () => listeners.size,
    reconcileCalls,
    pushCalls,
    failNextReconcile: (error) => {
      failure = error;
    },
  };
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: unknown;
}

/** One HTTP request over the Unix socket, without the client under test. */
export const httpCall = (
  socketPath: string,
  method: string,
  path: string,
  options: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });

export const postJson = (socketPath: string, path: string, body: unknown): Promise<RawResponse> =>
  httpCall(socketPath, 'POST', path, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

/** Writes raw bytes on a fresh connection and collects everything until the server closes it. */
export const rawExchange = (socketPath: string, bytes: string | Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close while we are still writing; what it answered is what counts.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET')
        resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(error);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.write(bytes);
  });

/** A private temp dir whose path is short enough for a socket. */
export const tempDir = async (): Promise<{ dir: string; cleanup: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'kfd-ctl-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
};
