import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { systemClock, type Clock } from '../../clock.js';
import { KsailError, isKsailError } from '../../errors.js';
import {
  DaemonEvent,
  DaemonStatus,
  PushBody,
  PushResponse,
  ReconcileBody,
  ReconcileResponse,
  RequestView,
  RollbackBody,
  UiView,
  VersionsView,
} from './control-types.js';
import { PausedResponse } from './socket-protocol.js';
import { RollbackResult } from '../../publish/rollback-result.js';
import { connectError, errorFromResponse, readAll } from './control-errors.js';

/** The CLI's side of the control API: node:http over the Unix socket, every response validated with zod. */

export interface ControlClientOptions {
  /** How long a plain call may take; default 10 s. `reconcile` and `push` with `wait` have their own limits. */
  timeoutMs?: number;
  /** Runs the call timeouts; default the system clock. */
  clock?: Clock;
}

/** How long one call may take: milliseconds, `none`, or a limit with its own error (which says which limit). */
export type CallLimit = number | 'none' | { ms: number; error?: () => KsailError };

export interface ControlClient {
  socketPath: string;
  status(): Promise<DaemonStatus>;
  /** With `wait`, waits for the outcome: without a limit unless `limits.wait` sets one. */
  reconcile(body?: z.input<typeof ReconcileBody>, limits?: { wait?: CallLimit }): Promise<ReconcileResponse>;
  /** undefined when the daemon does not know the id (any more). */
  request(id: string): Promise<RequestView | undefined>;
  /**
   * Calls onEvent for each event; resolves when `signal` aborts or the stream ends (the daemon stopped or was
   * killed). Rejects only when the stream cannot be opened (daemon-not-running).
   */
  events(onEvent: (event: DaemonEvent) => void, signal?: AbortSignal): Promise<void>;
  pause(): Promise<PausedResponse>;
  resume(): Promise<PausedResponse>;
  push(body?: z.input<typeof PushBody>): Promise<PushResponse>;
  /** Waits for Flux's verdict: no client timeout (the daemon bounds it with flux.reconcileTimeout). */
  rollback(source: string, body?: z.input<typeof RollbackBody>): Promise<RollbackResult>;
  versions(source: string): Promise<VersionsView>;
  /** The dashboard's first URL; throws ui-disabled when the daemon runs without it. */
  ui(): Promise<UiView>;
}

export const createControlClient = (
  socketPath: string,
  options: ControlClientOptions = {},
): ControlClient => {
  const defaultTimeout = options.timeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;

  /** One request; resolves with the response whose body is still unread. */
  const open = (
    method: string,
    path: string,
    body: unknown,
    timeoutMs: CallLimit,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest({
        socketPath,
        method,
        path,
        signal,
        // One connection per call: pooled keep-alive sockets to a daemon that restarted fail with ECONNRESET.
        agent: false,
        headers: {
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
        },
      });
      let cancelTimer = (): void => undefined;
      if (timeoutMs !== 'none') {
        const limit = typeof timeoutMs === 'number' ? { ms: timeoutMs } : timeoutMs;
        cancelTimer = clock.after(limit.ms, () => {
          req.destroy(
            limit.error?.() ??
              new KsailError(
                'internal',
                `the ksail-fluxd daemon on ${socketPath} did not answer ${method} ${path} within ${limit.ms} ms; ` +
                  'check its log (journalctl --user -u ksail-fluxd)',
                { details: { socketPath } },
              ),
          );
        });
      }
      req.once('response', (res) => {
        cancelTimer();
        resolve(res);
      });
      req.once('error', (error: NodeJS.ErrnoException) => {
        cancelTimer();
        reject(isKsailError(error) || error.name === 'AbortError' ? error : connectError(socketPath, error));
      });
      req.end(payload);
    });

  const call = async <S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body: unknown,
    // Not a default parameter: an explicit undefined would silently become the 10 s default (issue #13).
    timeoutMs: CallLimit,
  ): Promise<z.infer<S>> => {
    const res = await open(method, path, body, timeoutMs);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw errorFromResponse(socketPath, status, text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new KsailError('internal', `the daemon's answer to ${method} ${path} is not JSON`, {
        cause: error,
      });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new KsailError(
        'internal',
        `the daemon's answer to ${method} ${path} does not match this client (is the daemon another version? ` +
          `restart it): ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
        { details: { socketPath } },
      );
    }
    return parsed.data;
  };

  const validated = <S extends z.ZodType>(schema: S, body: unknown): z.infer<S> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) {
      throw new KsailError(
        'usage',
        `invalid request: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
    }
    return parsed.data;
  };

  const events = async (onEvent: (event: DaemonEvent) => void, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return;
    let res: IncomingMessage;
    try {
      res = await open('GET', '/v1/events', undefined, defaultTimeout, signal);
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    if (res.statusCode !== 200) throw errorFromResponse(socketPath, res.statusCode ?? 0, await readAll(res));
    res.setEncoding('utf8');
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += chunk as string;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (!line) continue;
          let json: unknown;
          try {
            json = JSON.parse(line);
          } catch {
            continue;
          }
          // Event types a newer daemon adds are skipped rather than ending the stream.
          const parsed = DaemonEvent.safeParse(json);
          if (parsed.success) onEvent(parsed.data);
        }
      }
    } catch {
      // The connection broke after the stream had begun (the daemon was killed): the stream ended.
      return;
    }
  };

  return {
    socketPath,
    status: () => call('GET', '/v1/status', DaemonStatus, undefined, defaultTimeout),
    reconcile: async (body, limits = {}) => {
      const value = validated(ReconcileBody, body);
      return call(
        'POST',
        '/v1/reconcile',
        ReconcileResponse,
        value,
        value.wait ? (limits.wait ?? 'none') : defaultTimeout,
      );
    },
    request: async (id) => {
      try {
        return await call(
          'GET',
          `/v1/requests/${encodeURIComponent(id)}`,
          RequestView,
          undefined,
          defaultTimeout,
        );
      } catch (error) {
        if (isKsailError(error) && error.details.code === 'request-not-found') return undefined;
        throw error;
      }
    },
    events,
    pause: () => call('POST', '/v1/pause', PausedResponse, undefined, defaultTimeout),
    resume: () => call('POST', '/v1/resume', PausedResponse, undefined, defaultTimeout),
    push: async (body) => {
      const value = validated(PushBody, body);
      // A push with wait runs as long as the daemon's publish does (its registry client bounds each request).
      return call('POST', '/v1/push', PushResponse, value, value.wait ? 'none' : defaultTimeout);
    },
    // Like a push with wait: as long as the daemon's publish of the old content takes.
    rollback: async (source, body) =>
      call(
        'POST',
        `/v1/sources/${encodeURIComponent(source)}/rollback`,
        RollbackResult,
        validated(RollbackBody, body),
        'none',
      ),
    versions: (source) =>
      call(
        'GET',
        `/v1/sources/${encodeURIComponent(source)}/versions`,
        VersionsView,
        undefined,
        defaultTimeout,
      ),
    ui: () => call('GET', '/v1/ui', UiView, undefined, defaultTimeout),
  };
};

/**
 * For `ksail-fluxd reconcile`: asks a running daemon to reconcile (so it queues behind pushes in Automatic mode).
 * Resolves undefined when no daemon is running, so the caller can reconcile directly.
 */
export const tryDaemonReconcile = async (
  socketPath: string,
  body: z.input<typeof ReconcileBody>,
  limits: { wait?: CallLimit } = {},
): Promise<ReconcileResponse | undefined> => {
  try {
    return await createControlClient(socketPath).reconcile(body, limits);
  } catch (error) {
    if (isKsailError(error, 'daemon-not-running')) return undefined;
    throw error;
  }
};
