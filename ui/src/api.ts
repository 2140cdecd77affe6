import type { z } from 'zod';
import {
  DaemonEvent,
  DaemonStatus,
  ErrorBody,
  PushResponse,
  ReconcileResponse,
  VersionsView,
} from '../../src/daemon/control/control-types.js';
import { PausedResponse } from '../../src/daemon/control/socket-protocol.js';
import { RollbackResult } from '../../src/publish/rollback-result.js';

/**
 * The page's side of the daemon: the control API under /api (the same handler table as the Unix socket) and the
 * event stream. Every answer is checked with the daemon's own schemas.
 */

export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const call = async <S extends z.ZodType>(
  method: 'GET' | 'POST',
  path: string,
  schema: S,
  body?: unknown,
): Promise<z.infer<S>> => {
  const response = await fetch(`/api${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = ErrorBody.safeParse(json);
    throw error.success
      ? new ApiError(error.data.error.code, error.data.error.message)
      : new ApiError('http', `the daemon answered ${response.status}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ApiError('schema', `unexpected answer to ${path}; reload the page`);
  return parsed.data;
};

export const api = {
  reconcile: (sources: string[]) => call('POST', '/v1/reconcile', ReconcileResponse, { sources }),
  push: (sources: string[]) => call('POST', '/v1/push', PushResponse, { sources }),
  pause: () => call('POST', '/v1/pause', PausedResponse),
  resume: () => call('POST', '/v1/resume', PausedResponse),
  /** Waits for Flux's verdict; a failed rollback is an error here. */
  rollback: async (source: string, version: string) => {
    const result = await call('POST', `/v1/sources/${encodeURIComponent(source)}/rollback`, RollbackResult, {
      version,
    });
    if (result.outcome === 'failed')
      throw new ApiError(result.code ?? 'failed', result.error ?? 'rollback failed');
    return result;
  },
  versions: (source: string) =>
    call('GET', `/v1/sources/${encodeURIComponent(source)}/versions`, VersionsView),
};

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StreamHandlers {
  status(status: DaemonStatus): void;
  event(event: DaemonEvent): void;
  connection(state: Connection): void;
}

/** `GET /api/events`: Server-Sent Events; the browser reconnects by itself after a daemon restart. */
export const openStream = (handlers: StreamHandlers): (() => void) => {
  const source = new EventSource('/api/events');
  handlers.connection('connecting');
  source.addEventListener('open', () => handlers.connection('live'));
  source.addEventListener('error', () =>
    handlers.connection(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'),
  );
  source.addEventListener('status', (message: MessageEvent<string>) => {
    const parsed = DaemonStatus.safeParse(JSON.parse(message.data));
    if (parsed.success) handlers.status(parsed.data);
  });
  source.addEventListener('daemon', (message: MessageEvent<string>) => {
    // Event types a newer daemon adds are skipped.
    const parsed = DaemonEvent.safeParse(JSON.parse(message.data));
    if (parsed.success) handlers.event(parsed.data);
  });
  return () => source.close();
};
