/** What the fake fetch saw, for asserting the exact requests the client makes. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Buffer | undefined;
  signal: AbortSignal | undefined;
}

export type Handler = (request: SeenRequest, index: number) => Response | Promise<Response>;

export const createFakeFetch = (handler: Handler): { fetch: typeof fetch; seen: SeenRequest[] } => {
  const seen: SeenRequest[] = [];
  const fake = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    const request: SeenRequest = {
      method: init.method ?? 'GET',
      url: new URL(input instanceof Request ? input.url : input),
      headers: new Headers(init.headers),
      body: body instanceof Uint8Array ? Buffer.from(body) : undefined,
      signal: init.signal ?? undefined,
    };
    seen.push(request);
    return handler(request, seen.length - 1);
  };
  return { fetch: fake, seen };
};

export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

export const emptyResponse = (status: number, headers: Record<string, string> = {}): Response =>
  new Response(null, { status, headers });

export const registryError = (status: number, code: string, message: string): Response =>
  jsonResponse(status, { errors: [{ code, message }] });

/** What undici throws for a refused or reset connection. */
export const networkError = (code: string, message: string): TypeError =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });

export { createInstantClock } from '../../support/instant-clock.js';

/** A fetch that never answers until its signal aborts: a registry that accepts and hangs. */
export const hangingResponse = (request: SeenRequest): Promise<Response> =>
  new Promise((_resolve, reject) => {
    if (request.signal?.aborted) return reject(request.signal.reason as Error);
    request.signal?.addEventListener('abort', () => reject(request.signal?.reason as Error), { once: true });
  });
