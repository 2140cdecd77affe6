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
  RollbackBody,
} from '../../../src/daemon/control/control-types.js';
import { KsailError } from '../../../src/errors.js';

/** A DaemonControl double for the control server tests: records calls, emits events on demand. */
export interface FakeControl {
  control: DaemonControl;
  emit(event: DaemonEvent): void;
  listenerCount(): number;
  reconcileCalls: ReconcileBody[];
  pushCalls: PushBody[];
  rollbackCalls: Array<{ name: string; body: RollbackBody }>;
  /** Makes the next reconcile throw this. */
  failNextReconcile(error: Error): void;
  /** Changes what status() returns from now on. */
  editStatus(edit: (status: DaemonStatus) => DaemonStatus): void;
  /** What `ui()` answers (undefined: the dashboard is off). */
  setUiUrl(url: string | undefined): void;
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
  const rollbackCalls: Array<{ name: string; body: RollbackBody }> = [];
  let uiUrl: string | undefined;
  let edit: (status: DaemonStatus) => DaemonStatus = (value) => value;
  const status = (): DaemonStatus => edit(baseStatus());
  const baseStatus = (): DaemonStatus => ({
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
    rollback: (name, body) => {
      rollbackCalls.push({ name, body });
      const known = ['1.0.3', '1.0.2', '1.0.1'];
      if (body.version !== undefined && !known.includes(body.version)) {
        return Promise.reject(
          new KsailError(
            'version-invalid',
            `source ${name} has no version ${body.version}; known versions: ${known.join(', ')}`,
          ),
        );
      }
      const to = body.version ?? '1.0.2';
      return Promise.resolve({
        source: name,
        from: '1.0.3',
        to,
        latest: '1.0.3',
        outcome: 'succeeded' as const,
        revision: `${to}@sha256:abc`,
      });
    },
    versions: (name) =>
      name === 'web'
        ? Promise.resolve({
            source: 'web',
            keep: 2,
            versions: ['1.0.3', '1.0.2', '1.0.1'].map((version, i) => ({
              version,
              digest: `sha256:${String(i).repeat(64)}`,
              kept: i < 2,
              inUse: i === 0,
            })),
          })
        : Promise.reject(
            new KsailError('source-not-found', `no source named "${name}"; known sources: web, api`),
          ),
    ui: () => {
      if (uiUrl === undefined) throw new KsailError('ui-disabled', 'the dashboard is off in this daemon');
      return { url: uiUrl };
    },
  };
  return {
    control,
    emit: (event) => listeners.forEach((listener) => listener(event)),
    listenerCount: () => listeners.size,
    reconcileCalls,
    pushCalls,
    rollbackCalls,
    failNextReconcile: (error) => {
      failure = error;
    },
    editStatus: (next) => {
      edit = next;
    },
    setUiUrl: (url) => {
      uiUrl = url;
    },
  };
};

/** A private temp dir whose path is short enough for a socket. */
export const tempDir = async (): Promise<{ dir: string; cleanup: () => Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'kfd-ctl-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
};
