import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { KsailError } from '../../src/errors.js';
import { createRegistryClient, type RegistryClient } from '../../src/registry/client/client.js';
import { startFaultyProxy, type FaultyProxy } from '../support/faulty-proxy.js';
import { freePort } from '../support/free-port.js';
import { rejectionOf } from '../support/rejection.js';
import { startTestRegistry, waitForRegistry } from '../support/test-registry.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const repo = (): string => `test/client-${randomUUID().slice(0, 8)}`;

/** A tiny Flux-shaped artifact: config `{}`, one layer, annotations. */
const pushArtifact = async (
  client: RegistryClient,
  repository: string,
  tag: string,
  layer = randomBytes(64),
) => {
  const config = Buffer.from('{}');
  for (const blob of [config, layer]) {
    if (!(await client.hasBlob(repository, sha256(blob))))
      await client.uploadBlob(repository, sha256(blob), blob);
  }
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.cncf.flux.config.v1+json', digest: sha256(config), size: 2 },
      layers: [
        {
          mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
      annotations: { 'org.opencontainers.image.revision': tag },
    }),
  );
  const { digest } = await client.putManifest(repository, tag, body, MANIFEST_TYPE);
  return { body, digest, layer };
};

const endpoint = inject('registryEndpoint');

describe('registry client against a real registry', () => {
  const client = createRegistryClient({ endpoint });

  it('uploads a blob monolithically and reads it back', async () => {
    const repository = repo();
    const data = randomBytes(4096);
    await expect(client.hasBlob(repository, sha256(data))).resolves.toBe(false);
    await client.uploadBlob(repository, sha256(data), data);
    await expect(client.hasBlob(repository, sha256(data))).resolves.toBe(true);
    expect((await client.getBlob(repository, sha256(data))).equals(data)).toBe(true);
  });

  it('puts, gets, heads and deletes a manifest', async () => {
    const repository = repo();
    const { body, digest } = await pushArtifact(client, repository, '1.0.0');
    expect(digest).toBe(sha256(body));

    const got = await client.getManifest(repository, '1.0.0');
    expect(got?.body.equals(body)).toBe(true);
    expect(got).toMatchObject({ digest, mediaType: MANIFEST_TYPE });
    expect(got?.manifest.layers).toHaveLength(1);
    await expect(client.headManifest(repository, '1.0.0')).resolves.toEqual({ digest, size: body.length });
    expect((await client.getManifest(repository, digest))?.body.equals(body)).toBe(true);
    await expect(client.listTags(repository)).resolves.toEqual(['1.0.0']);

    await client.deleteManifest(repository, digest);
    await expect(client.getManifest(repository, digest)).resolves.toBeUndefined();
    await expect(client.headManifest(repository, '1.0.0')).resolves.toBeUndefined();
    await expect(client.listTags(repository)).resolves.toEqual([]);
  });

  it('lists no tags for a repository that does not exist', async () => {
    await expect(client.listTags(repo())).resolves.toEqual([]);
    await expect(client.getManifest(repo(), '1.0.0')).resolves.toBeUndefined();
  });

  it('writes artifacts skopeo reads back byte for byte', async () => {
    const repository = repo();
    const { body, digest } = await pushArtifact(client, repository, '0.1.0');
    const byTag = await execa(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${endpoint}/${repository}:0.1.0`],
      { encoding: 'buffer', stripFinalNewline: false },
    );
    expect(Buffer.from(byTag.stdout).equals(body)).toBe(true);
    // By the digest the client reported: proves it is the one the registry stores the manifest under.
    const byDigest = await execa(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${endpoint}/${repository}@${digest}`],
      { encoding: 'buffer', stripFinalNewline: false },
    );
    expect(Buffer.from(byDigest.stdout).equals(body)).toBe(true);
  });
});

describe('registry client through a faulty proxy', () => {
  let proxy: FaultyProxy;
  let client: RegistryClient;
  beforeAll(async () => {
    proxy = await startFaultyProxy(endpoint);
  });
  afterEach(() => {
    proxy.failNext(0);
    proxy.paginateTags(undefined);
  });
  afterAll(async () => {
    await proxy.close();
  });
  const seen = (method: string, fragment: string, since: number): number =>
    proxy.requests.slice(since).filter((r) => r.method === method && r.url.includes(fragment)).length;

  it('uploads in chunks when the blob is above the chunk size', async () => {
    client = createRegistryClient({ endpoint: proxy.endpoint, chunkSize: 1024 });
    const repository = repo();
    const data = randomBytes(5000);
    const since = proxy.requests.length;
    await client.uploadBlob(repository, sha256(data), data);
    expect(seen('PATCH', '/blobs/uploads/', since)).toBe(5);
    expect(seen('PUT', '/blobs/uploads/', since)).toBe(1);
    expect((await client.getBlob(repository, sha256(data))).equals(data)).toBe(true);
  });

  it('pushes with HEAD, POST + PUT, PUT manifest only, over kept-alive connections', async () => {
    client = createRegistryClient({ endpoint: proxy.endpoint });
    const repository = repo();
    await client.ping();
    const before = proxy.connections();
    const since = proxy.requests.length;
    const started = performance.now();
    for (let index = 0; index < 20; index += 1) await pushArtifact(client, repository, `1.0.${index}`);
    const perPush = (performance.now() - started) / 20;
    // HEAD ×2, (POST + PUT) for each missing blob, PUT manifest: nothing else on the push path.
    expect(seen('HEAD', '/blobs/', since)).toBe(40);
    expect(seen('PUT', '/manifests/', since)).toBe(20);
    expect(seen('POST', '/blobs/uploads/', since)).toBe(21);
    // undici closes the connection after every HEAD (nodejs/undici#258, for servers that send a body with
    // HEAD), so each HEAD costs a loopback handshake; everything else must ride on kept-alive connections.
    expect(proxy.connections() - before).toBeLessThanOrEqual(40 + 1);
    console.info(
      `push through proxy: ${perPush.toFixed(1)} ms per artifact, ${proxy.connections() - before} new connections`,
    );
  });

  it('follows Link pagination over more tags than a page holds', async () => {
    client = createRegistryClient({ endpoint: proxy.endpoint, tagPageSize: 3 });
    const repository = repo();
    const tags = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.1.0', '1.2.0', '2.0.0'];
    const layer = randomBytes(32);
    for (const tag of tags) await pushArtifact(client, repository, tag, layer);
    proxy.paginateTags(3);
    const since = proxy.requests.length;
    expect((await client.listTags(repository)).sort()).toEqual(tags);
    expect(seen('GET', '/tags/list', since)).toBe(3);
  });

  it('succeeds when the registry answers 500 once', async () => {
    client = createRegistryClient({ endpoint: proxy.endpoint });
    const repository = repo();
    const since = proxy.requests.length;
    proxy.failNext(1, 500);
    const { body } = await pushArtifact(client, repository, '1.0.0');
    expect(proxy.requests.slice(since).filter((r) => r.faulted)).toHaveLength(1);
    expect((await client.getManifest(repository, '1.0.0'))?.body.equals(body)).toBe(true);
  });

  it('restarts an upload with a new POST when its PUT fails, and survives a reset connection', async () => {
    client = createRegistryClient({ endpoint: proxy.endpoint });
    const repository = repo();
    const data = randomBytes(256);
    const since = proxy.requests.length;
    proxy.failNext(1, 503, { match: (method, url) => method === 'PUT' && url.includes('/blobs/uploads/') });
    await client.uploadBlob(repository, sha256(data), data);
    expect(seen('POST', '/blobs/uploads/', since)).toBe(2);
    proxy.failNext(1, 'reset');
    expect((await client.getBlob(repository, sha256(data))).equals(data)).toBe(true);
  });

  it('reports a proxy that went down as unreachable within 5 s, and works again when it is up', async () => {
    client = createRegistryClient({ endpoint: proxy.endpoint });
    await client.ping();
    await proxy.down();
    const started = performance.now();
    const error = await rejectionOf(client.ping(), KsailError);
    const elapsed = performance.now() - started;
    await proxy.up();
    expect(error.code).toBe('registry-unreachable');
    expect(elapsed).toBeLessThan(5000);
    await client.ping();
  });
});

describe('registry client failures', () => {
  it('reports a port with nothing listening as unreachable within 5 s', async () => {
    const port = await freePort();
    const client = createRegistryClient({ endpoint: `127.0.0.1:${port}` });
    const started = performance.now();
    const error = await rejectionOf(client.hasBlob('test/nothing', sha256(Buffer.from('x'))), KsailError);
    const elapsed = performance.now() - started;
    expect(error.code).toBe('registry-unreachable');
    expect(error.message).toContain(`registry 127.0.0.1:${port} is not answering (connect ECONNREFUSED`);
    expect(error.message).toContain('"ksail-fluxd registry up"');
    expect(error.message).toContain('registryPort in ksail-fluxd.yaml');
    expect(elapsed).toBeLessThan(5000);
    console.info(`unreachable port: registry-unreachable after ${Math.round(elapsed)} ms`);
  });

  it('reports a stopped registry as unreachable within 5 s', async () => {
    const registry = await startTestRegistry();
    try {
      const client = createRegistryClient({ endpoint: registry.endpoint });
      await pushArtifact(client, repo(), '1.0.0');
      await registry.stop();
      const started = performance.now();
      const error = await rejectionOf(client.listTags('test/anything'), KsailError);
      const elapsed = performance.now() - started;
      expect(error.code).toBe('registry-unreachable');
      expect(error.message).toContain(registry.endpoint);
      expect(elapsed).toBeLessThan(5000);
      console.info(`stopped ${registry.kind} registry: registry-unreachable after ${Math.round(elapsed)} ms`);
    } finally {
      await registry.close();
    }
  });

  it('explains how to enable deletes on a registry that has them disabled', async () => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-nodelete-'));
    const config = join(dir, 'config.yml');
    await writeFile(
      config,
      `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${join(dir, 'data')}}\nhttp: {addr: "127.0.0.1:${port}"}\n`,
    );
    const child = execa('docker-registry', ['serve', config], { reject: false, stdio: 'ignore' });
    try {
      await waitForRegistry(`127.0.0.1:${port}`);
      const client = createRegistryClient({ endpoint: `127.0.0.1:${port}` });
      const repository = repo();
      const { digest } = await pushArtifact(client, repository, '1.0.0');
      const error = await rejectionOf(client.deleteManifest(repository, digest), KsailError);
      expect(error.code).toBe('registry-http');
      expect(error.message).toContain(
        `DELETE /v2/${repository}/manifests/${digest} failed with 405 UNSUPPORTED`,
      );
      expect(error.message).toContain('storage.delete.enabled');
      expect(error.message).toContain('REGISTRY_STORAGE_DELETE_ENABLED=true');
    } finally {
      child.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
