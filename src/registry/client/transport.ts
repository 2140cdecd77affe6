import type { Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';
import { httpError, unreachableError } from './registry-errors.js';
import { registryAborted, parseRetryAfter, type AttemptContext } from './retry.js';

export interface TransportOptions {
  endpoint: string;
  fetch: typeof fetch;
  clock: Clock;
  /** Upper bound for one whole exchange, body included. */
  requestTimeoutMs: number;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface Transport {
  readonly baseUrl: URL;
  /** One HTTP exchange; answers outside `ok` become `registry-http`, network failures `registry-unreachable`. */
  exchange(
    context: AttemptContext,
    request: RegistryRequest,
    ok: readonly number[],
  ): Promise<RegistryResponse>;
}

/** undici reports network failures as `TypeError('fetch failed', { cause })`; the cause says what happened. */
const isNetworkError = (error: unknown): boolean =>
  error instanceof Error &&
  ((error.name === 'TypeError' && error.cause !== undefined) ||
    error.name === 'TimeoutError' ||
    error.name === 'AbortError');

const describeNetworkError = (error: unknown): string => {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' && !cause.message.includes(code)
    ? `${cause.message} [${code}]`
    : cause.message;
};

export const createTransport = (options: TransportOptions): Transport => {
  const baseUrl = new URL(`http://${options.endpoint}/`);
  const { clock, endpoint } = options;

  const exchange = async (
    context: AttemptContext,
    request: RegistryRequest,
    ok: readonly number[],
  ): Promise<RegistryResponse> => {
    const { method } = request;
    const path = request.url.pathname;
    const silentMs = context.deadline - clock.now();
    if (context.signal?.aborted) throw registryAborted(context.signal.reason);
    if (silentMs <= 0) throw unreachableError(endpoint, 'no response in time', { method, path });
    // The response-headers deadline is the rest of the unreachable budget: a hung registry fails as fast as a
    // refused connection. The whole-exchange timeout only bounds slow bodies.
    const attempt = new AbortController();
    let headersTimedOut = false;
    const cancelHeaders = clock.after(silentMs, () => {
      headersTimedOut = true;
      attempt.abort(new DOMException('no response', 'TimeoutError'));
    });
    // A listener we remove, rather than AbortSignal.any over the caller's signal: `any` over a long-lived
    // signal (a daemon's shutdown signal) retains every composed signal in Node 20.
    const onCallerAbort = (): void => attempt.abort(context.signal?.reason);
    context.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const total = clock.timeout(options.requestTimeoutMs);
    let response: Response;
    let body: Buffer;
    try {
      response = await options.fetch(request.url, {
        method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.any([attempt.signal, total.signal]),
        redirect: 'follow',
      });
      cancelHeaders();
      context.alive();
      // Always drain the body: an unread body keeps its keep-alive connection out of the pool.
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      if (context.signal?.aborted) throw registryAborted(context.signal.reason);
      if (headersTimedOut)
        throw unreachableError(endpoint, `no response within ${Math.round(silentMs)} ms`, { method, path });
      if (total.signal.aborted)
        throw unreachableError(endpoint, `no complete response within ${options.requestTimeoutMs} ms`, {
          method,
          path,
          cause: error,
        });
      if (isNetworkError(error))
        throw unreachableError(endpoint, describeNetworkError(error), { method, path, cause: error });
      throw new KsailError('internal', `registry request ${method} ${path} failed unexpectedly`, {
        cause: error,
      });
    } finally {
      cancelHeaders();
      total.cancel();
      context.signal?.removeEventListener('abort', onCallerAbort);
    }
    if (!ok.includes(response.status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), clock.now());
      throw httpError(
        {
          endpoint,
          method,
          path,
          status: response.status,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        },
        body,
      );
    }
    return { status: response.status, headers: response.headers, body };
  };

  return { baseUrl, exchange };
};
