import { afterEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../../src/artifact/index.js';
import type { Clock } from '../../../src/clock.js';
import { systemClock } from '../../../src/clock.js';
import { createSilentLogger } from '../../../src/logger.js';
import { publishSource } from '../../../src/publish/publish-source.js';
import type { RegistryClient } from '../../../src/registry/client/client.js';
import { OciManifest } from '../../../src/registry/client/registry-schemas.js';
import { resolvedSource } from '../../support/resolved-source.js';
import { rejectionOf } from '../../support/rejection.js';
import { configMap, tempDirs, writeTree } from '../artifact/tree.js';

/**
 * Issue #13, at the publisher: identical content gives an identical manifest whatever the clock, the version is
 * chosen from the tags as they are inside the repository lock, and a tag overwritten after our PUT is an error.
 * The registry is a small in-memory one (tags and blobs), so each interleaving happens exactly where we want it.
 */
const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const memoryRegistry = () => {
  const tags = new Map<string, Buffer>();
  const blobs = new Set<string>();
  const put = (tag: string, body: Buffer): string => {
    tags.set(tag, body);
    return sha256Digest(body);
  };
  const client = {
    endpoint: 'localhost:5000',
    ping: () => Promise.resolve(),
    listTags: () => Promise.resolve([...tags.keys()]),
    getManifest: (_repository: string, tag: string) => {
      const body = tags.get(tag);
      if (!body) return Promise.resolve(undefined);
      return Promise.resolve({
        digest: sha256Digest(body),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        body,
        manifest: OciManifest.parse(JSON.parse(body.toString('utf8'))),
      });
    },
    headManifest: (_repository: string, tag: string) => {
      const body = tags.get(tag);
      return Promise.resolve(body ? { digest: sha256Digest(body), size: body.length } : undefined);
    },
    hasBlob: (_repository: string, digest: string) => Promise.resolve(blobs.has(digest)),
    uploadBlob: (_repository: string, digest: string) => Promise.resolve(void blobs.add(digest)),
    putManifest: (_repository: string, tag: string, body: Uint8Array) =>
      Promise.resolve({ digest: put(tag, Buffer.from(body)) }),
    getBlob: () => Promise.reject(new Error('not used')),
    deleteManifest: () => Promise.reject(new Error('not used')),
  } satisfies RegistryClient;
  return { client, tags, put };
};

const clockAt = (ms: number): Clock => ({ ...systemClock, now: () => ms });

const publish = (
  dir: string,
  client: RegistryClient,
  options: { clock?: Clock; lock?: <T>(repository: string, fn: () => Promise<T>) => Promise<T> } = {},
) =>
  publishSource({
    source: resolvedSource(dir, { targetNamespace: 'default' }),
    client,
    clock: options.clock ?? systemClock,
    logger: createSilentLogger(),
    ...(options.lock ? { lock: options.lock } : {}),
  });

describe('publishing under the repository lock (issue #13)', () => {
  it('gives identical content an identical manifest, whatever the clock says', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    const first = memoryRegistry();
    const second = memoryRegistry();
    const a = await publish(dir, first.client, { clock: clockAt(Date.parse('2026-01-01T00:00:00Z')) });
    const b = await publish(dir, second.client, { clock: clockAt(Date.parse('2027-06-01T12:34:56Z')) });
    expect(a.outcome).toBe('pushed');
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(first.tags.get('1.0.0')).toEqual(second.tags.get('1.0.0'));
  });

  it('chooses the version from the tags read inside the lock, not from the read before it', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    const registry = memoryRegistry();
    // Another pusher writes 1.0.0 (other content) after our early read, just before we get the lock.
    const rival = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.cncf.flux.config.v1+json',
          size: 2,
          digest: sha256Digest(Buffer.from('{}')),
        },
        layers: [
          {
            mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip',
            size: 1,
            digest: sha256Digest(Buffer.from('x')),
          },
        ],
      }),
    );
    const lock = <T>(_repository: string, fn: () => Promise<T>): Promise<T> => {
      registry.put('1.0.0', rival);
      return fn();
    };
    const result = await publish(dir, registry.client, { lock });
    expect(result).toMatchObject({ outcome: 'pushed', version: '1.0.1' });
    expect(sha256Digest(registry.tags.get('1.0.0')!)).toBe(sha256Digest(rival));
  });

  it('reports a tag overwritten right after its PUT as a version conflict, never its own stale digest', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    const registry = memoryRegistry();
    const client = {
      ...registry.client,
      putManifest: async (repository: string, tag: string, body: Uint8Array) => {
        const ours = await registry.client.putManifest(repository, tag, body);
        registry.put(tag, Buffer.from('{"schemaVersion":2,"overwritten":true}'));
        return ours;
      },
    };
    const error = await rejectionOf(publish(dir, client));
    expect(error).toMatchObject({ code: 'version-conflict' });
    expect((error as Error).message).toMatch(/tag 1\.0\.0 of test\/app was overwritten/);
  });
});
