import { describe, expect, it } from 'vitest';
import { KsailError } from '../../../src/errors.js';
import { createRegistryClient } from '../../../src/registry/client/client.js';
import { parseRetryAfter } from '../../../src/registry/client/retry.js';
import {
  createFakeFetch,
  createInstantClock,
  emptyResponse,
  hangingResponse,
  jsonResponse,
  networkError,
  registryError,
} from './fake-registry-fetch.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

const catchError = async (promise: Promise<unknown>): Promise<KsailError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KsailError) return error;
    throw error;
  }
  throw new Error('expected the operation to fail');
};

describe('registry client retries', () => {
  it('backs off exponentially on 5xx and gives up after maxRetries with the registry error', async () => {
    const clock = createInstantClock();
    const { fetch, seen } = createFakeFetch(() => registryError(503, 'UNAVAILABLE', 'storage is down'));
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    const error = await catchError(client.hasBlob('app', DIGEST));

    expect(error.code).toBe('registry-http');
    expect(seen).toHaveLength(5);
    expect(clock.sleeps).toEqual([100, 200, 400, 800]);
    expect(error.message).toContain('HEAD /v2/app/blobs/');
    expect(error.message).toContain('503 UNAVAILABLE: storage is down');
  });

  it('caps the backoff and honours maxRetries', async () => {
    const clock = createInstantClock();
    const { fetch, seen } = createFakeFetch(() => emptyResponse(500));
    const client = createRegistryClient({
      endpoint: 'localhost:5000',
      fetch,
      clock,
      maxRetries: 6,
      backoffBaseMs: 300,
      backoffMaxMs: 1000,
    });

    await expect(client.ping()).rejects.toMatchObject({ code: 'registry-http' });
    expect(seen).toHaveLength(7);
    expect(clock.sleeps).toEqual([300, 600, 1000, 1000, 1000, 1000]);
  });

  it('succeeds when the registry recovers after a 500', async () => {
    const clock = createInstantClock();
    const { fetch, seen } = createFakeFetch((_request, index) =>
      index === 0 ? emptyResponse(500) : emptyResponse(200),
    );
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    await expect(client.hasBlob('app', DIGEST)).resolves.toBe(true);
    expect(seen).toHaveLength(2);
    expect(clock.sleeps).toEqual([100]);
  });

  it.each([400, 401, 403, 404, 405, 501])('never retries a %i', async (status) => {
    const clock = createInstantClock();
    const { fetch, seen } = createFakeFetch(() => registryError(status, 'BLOB_UNKNOWN', 'blob unknown'));
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    await expect(client.getBlob('app', DIGEST)).rejects.toMatchObject({
      code: 'registry-http',
      details: { status, registryCode: 'BLOB_UNKNOWN' },
    });
    expect(seen).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('waits as long as a small Retry-After asks on 429', async () => {
    const clock = createInstantClock();
    const { fetch } = createFakeFetch((_request, index) =>
      index === 0
        ? jsonResponse(
            429,
            { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] },
            { 'retry-after': '2' },
          )
        : emptyResponse(200),
    );
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    await client.ping();
    expect(clock.sleeps).toEqual([2000]);
  });

  it('fails at once on a Retry-After too long to wait for, saying so', async () => {
    const clock = createInstantClock();
    const { fetch, seen } = createFakeFetch(() =>
      jsonResponse(
        429,
        { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] },
        { 'retry-after': '120' },
      ),
    );
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    const error = await catchError(client.ping());
    expect(error.code).toBe('registry-http');
    expect(error.message).toContain('Retry-After 120 s');
    expect(error.message).toContain('rate-limiting');
    expect(seen).toHaveLength(1);
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('turns refused connections into registry-unreachable within the budget, naming the fix', async () => {
    const clock = createInstantClock();
    const start = clock.now();
    const { fetch, seen } = createFakeFetch(() => {
      throw networkError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5000');
    });
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    const error = await catchError(client.ping());

    expect(error.code).toBe('registry-unreachable');
    expect(error.message).toBe(
      'registry localhost:5000 is not answering (connect ECONNREFUSED 127.0.0.1:5000); start it with ' +
        '"ksail-fluxd registry up", or set registryPort in ksail-fluxd.yaml to the port your registry uses',
    );
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(clock.now() - start).toBeLessThanOrEqual(2500);
    expect(clock.sleeps).toEqual([100, 200, 400, 800]);
    expect(seen).toHaveLength(5);
  });

  it('retries a reset connection and succeeds', async () => {
    const clock = createInstantClock();
    const { fetch } = createFakeFetch((_request, index) => {
      if (index === 0) throw networkError('UND_ERR_SOCKET', 'other side closed');
      return emptyResponse(200);
    });
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    await client.ping();
    expect(clock.sleeps).toEqual([100]);
  });

  it('gives up on a registry that accepts but never answers', async () => {
    const clock = createInstantClock();
    const { fetch, seen } = createFakeFetch(hangingResponse);
    const client = createRegistryClient({
      endpoint: 'localhost:5000',
      fetch,
      clock,
      unreachableBudgetMs: 150,
    });

    const error = await catchError(client.ping());

    expect(error.code).toBe('registry-unreachable');
    expect(error.message).toContain('no response within');
    expect(seen.length).toBeGreaterThanOrEqual(1);
  });

  it('stops at once when the caller aborts', async () => {
    const clock = createInstantClock();
    const controller = new AbortController();
    const { fetch, seen } = createFakeFetch((request) => {
      controller.abort(new Error('shutting down'));
      return hangingResponse(request);
    });
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    const error = await catchError(client.ping({ signal: controller.signal }));
    expect(error.code).toBe('aborted');
    expect(seen).toHaveLength(1);
  });

  it('restarts the upload session with a new POST when the PUT fails', async () => {
    const clock = createInstantClock();
    const data = Buffer.from('hello');
    const digest = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';
    let puts = 0;
    const { fetch, seen } = createFakeFetch((request) => {
      if (request.method === 'POST')
        return emptyResponse(202, { location: `/v2/app/blobs/uploads/session-${seen.length}?_state=x` });
      puts += 1;
      return puts === 1 ? emptyResponse(500) : emptyResponse(201, { 'docker-content-digest': digest });
    });
    const client = createRegistryClient({ endpoint: 'localhost:5000', fetch, clock });

    await client.uploadBlob('app', digest, data);

    expect(seen.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      'POST /v2/app/blobs/uploads/',
      'PUT /v2/app/blobs/uploads/session-1',
      'POST /v2/app/blobs/uploads/',
      'PUT /v2/app/blobs/uploads/session-3',
    ]);
    expect(seen[3]?.url.searchParams.get('digest')).toBe(digest);
    expect(seen[3]?.url.searchParams.get('_state')).toBe('x');
  });
});
