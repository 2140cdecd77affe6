import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createRegistryClient,
  nextLink,
  type RegistryClientOptions,
} from '../../../src/registry/client/client.js';
import {
  createFakeFetch,
  createInstantClock,
  emptyResponse,
  jsonResponse,
  registryError,
  type Handler,
} from './fake-registry-fetch.js';

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

const setup = (handler: Handler, options: Partial<RegistryClientOptions> = {}) => {
  const { fetch, seen } = createFakeFetch(handler);
  const client = createRegistryClient({
    endpoint: 'localhost:5000',
    fetch,
    clock: createInstantClock(),
    ...options,
  });
  return { client, seen };
};

const manifestBytes = (): Buffer => {
  const config = Buffer.from('{}');
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.cncf.flux.config.v1+json', digest: sha256(config), size: 2 },
      layers: [],
      annotations: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' },
    }),
  );
};

describe('registry client tags', () => {
  it('follows Link pagination, relative and absolute', async () => {
    const { client, seen } = setup(
      (request) => {
        const last = request.url.searchParams.get('last');
        if (last === null)
          return jsonResponse(
            200,
            { name: 'app', tags: ['1.0.0', '1.0.1'] },
            {
              link: '</v2/app/tags/list?last=1.0.1&n=2>; rel="next"',
            },
          );
        if (last === '1.0.1')
          return jsonResponse(
            200,
            { name: 'app', tags: ['1.0.2', '1.0.3'] },
            {
              link: '<http://localhost:5000/v2/app/tags/list?last=1.0.3&n=2>; rel="next"',
            },
          );
        return jsonResponse(200, { name: 'app', tags: ['1.0.4'] });
      },
      { tagPageSize: 2 },
    );

    await expect(client.listTags('app')).resolves.toEqual(['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4']);
    expect(seen.map((request) => request.url.search)).toEqual(['?n=2', '?last=1.0.1&n=2', '?last=1.0.3&n=2']);
  });

  it('returns [] for a repository the registry does not know', async () => {
    const { client } = setup(() =>
      registryError(404, 'NAME_UNKNOWN', 'repository name not known to registry'),
    );
    await expect(client.listTags('missing/app')).resolves.toEqual([]);
  });

  it('treats tags: null (every tag deleted) as no tags', async () => {
    const { client } = setup(() => jsonResponse(200, { name: 'app', tags: null }));
    await expect(client.listTags('app')).resolves.toEqual([]);
  });

  it('rejects a tags body of the wrong shape', async () => {
    const { client } = setup(() => jsonResponse(200, { name: 'app', tags: 'latest' }));
    await expect(client.listTags('app')).rejects.toMatchObject({
      code: 'registry-response-invalid',
      message: expect.stringContaining('tags list of app'),
    });
  });

  it('rejects a Link that loops back', async () => {
    const { client } = setup(() =>
      jsonResponse(200, { name: 'app', tags: ['a'] }, { link: '</v2/app/tags/list>; rel="next"' }),
    );
    await expect(client.listTags('app')).rejects.toMatchObject({ code: 'registry-response-invalid' });
  });

  it('parses Link headers', () => {
    expect(nextLink('</v2/a/tags/list?n=1&last=x>; rel="next"')).toBe('/v2/a/tags/list?n=1&last=x');
    expect(nextLink('<https://a/prev>; rel="prev", <https://a/next>; rel=next')).toBe('https://a/next');
    expect(nextLink('</x>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});

describe('registry client errors', () => {
  it('explains how to enable deletes when the registry refuses them', async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const { client } = setup(() => registryError(405, 'UNSUPPORTED', 'The operation is unsupported.'));
    const error = client.deleteManifest('app', digest);
    await expect(error).rejects.toMatchObject({
      code: 'registry-http',
      details: {
        method: 'DELETE',
        status: 405,
        registryCode: 'UNSUPPORTED',
        path: `/v2/app/manifests/${digest}`,
      },
    });
    await expect(error).rejects.toThrow(
      `registry localhost:5000: DELETE /v2/app/manifests/${digest} failed with 405 UNSUPPORTED: The operation is unsupported.; ` +
        'enable deletes in the registry: set storage.delete.enabled: true in its config.yml or REGISTRY_STORAGE_DELETE_ENABLED=true in its environment, then restart it',
    );
  });

  it('names the status when the error body is not a registry error', async () => {
    const { client } = setup(() => new Response('<html>teapot</html>', { status: 418 }));
    await expect(client.ping()).rejects.toThrow(
      'registry localhost:5000: GET /v2/ failed with 418; check that registryPort',
    );
  });

  it('refuses bad repository names and references before sending anything', async () => {
    const { client, seen } = setup(() => emptyResponse(200));
    await expect(client.listTags('../etc')).rejects.toMatchObject({ code: 'model-invalid' });
    await expect(client.getManifest('app', 'bad tag')).rejects.toMatchObject({ code: 'model-invalid' });
    await expect(client.deleteManifest('app', '1.0.0')).rejects.toMatchObject({ code: 'model-invalid' });
    expect(seen).toHaveLength(0);
  });
});

describe('registry client blobs', () => {
  it('uploads monolithically at or below the chunk size', async () => {
    const data = Buffer.from('0123456789');
    const { client, seen } = setup(
      (request) =>
        request.method === 'POST'
          ? emptyResponse(202, { location: 'http://localhost:5000/v2/app/blobs/uploads/u1?_state=s' })
          : emptyResponse(201, { 'docker-content-digest': sha256(data) }),
      { chunkSize: 10 },
    );

    await client.uploadBlob('app', sha256(data), data);
    expect(seen.map((request) => request.method)).toEqual(['POST', 'PUT']);
    expect(seen[1]?.body).toEqual(data);
    expect(seen[1]?.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('uploads in PATCH chunks with Content-Range above the chunk size, following each Location', async () => {
    const data = Buffer.from('0123456789');
    const { client, seen } = setup(
      (request, index) =>
        request.method === 'PUT'
          ? emptyResponse(201, { 'docker-content-digest': sha256(data) })
          : emptyResponse(202, { location: `/v2/app/blobs/uploads/u1?_state=${index}` }),
      { chunkSize: 4 },
    );

    await client.uploadBlob('app', sha256(data), data);
    expect(
      seen.map(
        (request) => `${request.method} ${request.url.search} ${request.headers.get('content-range') ?? ''}`,
      ),
    ).toEqual([
      'POST  ',
      'PATCH ?_state=0 0-3',
      'PATCH ?_state=1 4-7',
      'PATCH ?_state=2 8-9',
      `PUT ?_state=3&digest=${encodeURIComponent(sha256(data))} `,
    ]);
    expect(Buffer.concat(seen.slice(1, 4).map((request) => request.body ?? Buffer.alloc(0)))).toEqual(data);
  });

  it('refuses to upload bytes that do not match their digest', async () => {
    const { client, seen } = setup(() => emptyResponse(202));
    await expect(
      client.uploadBlob('app', `sha256:${'c'.repeat(64)}`, Buffer.from('x')),
    ).rejects.toMatchObject({
      code: 'internal',
    });
    expect(seen).toHaveLength(0);
  });

  it('rejects a blob whose bytes do not hash to its digest', async () => {
    const { client } = setup(() => new Response('tampered', { status: 200 }));
    await expect(client.getBlob('app', sha256(Buffer.from('original')))).rejects.toMatchObject({
      code: 'registry-response-invalid',
    });
  });

  it('answers hasBlob from the HEAD status', async () => {
    const { client } = setup((request) =>
      emptyResponse(request.url.pathname.endsWith('a'.repeat(64)) ? 200 : 404),
    );
    await expect(client.hasBlob('app', `sha256:${'a'.repeat(64)}`)).resolves.toBe(true);
    await expect(client.hasBlob('app', `sha256:${'b'.repeat(64)}`)).resolves.toBe(false);
  });
});

describe('registry client manifests', () => {
  it('puts a manifest and returns the digest it computed, checked against the header', async () => {
    const body = manifestBytes();
    const { client, seen } = setup(() => emptyResponse(201, { 'docker-content-digest': sha256(body) }));
    await expect(client.putManifest('app', '1.0.0', body, MANIFEST_TYPE)).resolves.toEqual({
      digest: sha256(body),
    });
    expect(seen[0]?.headers.get('content-type')).toBe(MANIFEST_TYPE);
  });

  it('rejects a Docker-Content-Digest that disagrees with the bytes sent', async () => {
    const { client } = setup(() =>
      emptyResponse(201, { 'docker-content-digest': `sha256:${'d'.repeat(64)}` }),
    );
    await expect(client.putManifest('app', '1.0.0', manifestBytes(), MANIFEST_TYPE)).rejects.toMatchObject({
      code: 'registry-response-invalid',
    });
  });

  it('rejects a malformed Docker-Content-Digest header', async () => {
    const { client } = setup(() => emptyResponse(201, { 'docker-content-digest': 'sha256:nothex' }));
    await expect(client.putManifest('app', '1.0.0', manifestBytes(), MANIFEST_TYPE)).rejects.toMatchObject({
      code: 'registry-response-invalid',
    });
  });

  it('gets a manifest with the Accept header, validated', async () => {
    const body = manifestBytes();
    const { client, seen } = setup(
      () =>
        new Response(body, {
          status: 200,
          headers: { 'content-type': MANIFEST_TYPE, 'docker-content-digest': sha256(body) },
        }),
    );
    const result = await client.getManifest('app', '1.0.0');
    expect(result).toMatchObject({ digest: sha256(body), mediaType: MANIFEST_TYPE, body });
    expect(result?.manifest.config.size).toBe(2);
    expect(seen[0]?.headers.get('accept')).toContain('application/vnd.oci.image.index.v1+json');
    expect(seen[0]?.headers.get('accept')).toContain('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('returns undefined for a missing manifest, and for HEAD', async () => {
    const { client } = setup(() => registryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown'));
    await expect(client.getManifest('app', '9.9.9')).resolves.toBeUndefined();
    await expect(client.headManifest('app', '9.9.9')).resolves.toBeUndefined();
  });

  it('rejects a manifest without config', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, layers: [] }));
    const { client } = setup(
      () => new Response(body, { status: 200, headers: { 'content-type': MANIFEST_TYPE } }),
    );
    await expect(client.getManifest('app', '1.0.0')).rejects.toMatchObject({
      code: 'registry-response-invalid',
      message: expect.stringContaining('config'),
    });
  });

  it('reads digest and size from HEAD', async () => {
    const digest = `sha256:${'e'.repeat(64)}`;
    const { client } = setup(() =>
      emptyResponse(200, { 'docker-content-digest': digest, 'content-length': '247' }),
    );
    await expect(client.headManifest('app', '1.0.0')).resolves.toEqual({ digest, size: 247 });
  });
});
