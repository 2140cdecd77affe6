import { KsailError } from '../../errors.js';
import { digestLike, matchesDigest } from './digest.js';
import { validateDigest } from './references.js';
import type { RegistryContext } from './registry-context.js';
import type { RegistryResponse } from './transport.js';

const OCTET_STREAM = 'application/octet-stream';

export interface BlobOperations {
  hasBlob(repository: string, digest: string): Promise<boolean>;
  /** Monolithic POST + PUT up to `chunkSize` bytes, chunked PATCHes + PUT above; retries restart the session. */
  uploadBlob(repository: string, digest: string, data: Uint8Array): Promise<void>;
  /** Verifies the digest of what it got. */
  getBlob(repository: string, digest: string): Promise<Buffer>;
}

const withDigest = (target: URL, digest: string): URL => {
  const next = new URL(target);
  next.searchParams.set('digest', digest);
  return next;
};

export const createBlobOperations = (registry: RegistryContext, chunkSize: number): BlobOperations => {
  const { transport } = registry;

  const uploadBlob = async (repository: string, digest: string, data: Uint8Array): Promise<void> => {
    validateDigest(digest);
    if (!matchesDigest(digest, data)) {
      throw new KsailError(
        'internal',
        `blob ${digest} does not match its ${data.byteLength} bytes (they hash to ${digestLike(digest, data)})`,
      );
    }
    const uploads = registry.repoUrl(repository, 'blobs/uploads/');
    // The whole session is one attempt: a failed PATCH or PUT may have consumed the session, so a retry
    // starts over with a new POST.
    await registry.run(async (context) => {
      const started = await transport.exchange(context, { method: 'POST', url: uploads }, [202]);
      let target = registry.location(started);
      let finish: RegistryResponse;
      if (data.byteLength <= chunkSize) {
        finish = await transport.exchange(
          context,
          {
            method: 'PUT',
            url: withDigest(target, digest),
            headers: { 'content-type': OCTET_STREAM },
            body: data,
          },
          [201],
        );
      } else {
        for (let offset = 0; offset < data.byteLength; offset += chunkSize) {
          const chunk = data.subarray(offset, Math.min(offset + chunkSize, data.byteLength));
          const patched = await transport.exchange(
            context,
            {
              method: 'PATCH',
              url: target,
              headers: {
                'content-type': OCTET_STREAM,
                'content-range': `${offset}-${offset + chunk.byteLength - 1}`,
              },
              body: chunk,
            },
            [202],
          );
          target = registry.location(patched);
        }
        finish = await transport.exchange(context, { method: 'PUT', url: withDigest(target, digest) }, [201]);
      }
      const stored = registry.digestHeader(finish);
      if (stored !== undefined && stored !== digest)
        throw registry.invalid('blob upload response', `it stored ${stored} for blob ${digest}`);
    });
  };

  return {
    hasBlob: async (repository, digest) => {
      const target = registry.repoUrl(repository, `blobs/${validateDigest(digest)}`);
      const response = await registry.run((context) =>
        transport.exchange(context, { method: 'HEAD', url: target }, [200, 404]),
      );
      return response.status === 200;
    },
    uploadBlob,
    getBlob: async (repository, digest) => {
      const target = registry.repoUrl(repository, `blobs/${validateDigest(digest)}`);
      const response = await registry.run((context) =>
        transport.exchange(context, { method: 'GET', url: target }, [200]),
      );
      if (!matchesDigest(digest, response.body)) {
        throw registry.invalid(
          `blob ${digest}`,
          `its ${response.body.byteLength} bytes hash to ${digestLike(digest, response.body)}`,
        );
      }
      return response.body;
    },
  };
};
