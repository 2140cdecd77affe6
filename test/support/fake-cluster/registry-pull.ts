import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import semver from 'semver';
import tar from 'tar-stream';
import { z } from 'zod';

/**
 * The source-controller's pull of an OCI artifact from a real registry over plain HTTP: resolve the reference
 * (tag, digest or semver range) to a manifest, pick the layer (layerSelector media type, else the first),
 * download and verify it, and extract the gzip tarball with Flux's path-safety rules.
 */
export const FLUX_CONTENT_MEDIA_TYPE = 'application/vnd.cncf.flux.content.v1.tar+gzip';

const Descriptor = z.object({ mediaType: z.string(), digest: z.string(), size: z.number() });
export const OciManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: Descriptor,
  layers: z.array(Descriptor),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type OciManifest = z.infer<typeof OciManifest>;

/** Extraction failed: Flux reports these with reason OCIArtifactLayerOperationFailed, not a pull failure. */
export class LayerOperationError extends Error {
  override readonly name = 'LayerOperationError';
}

const TagList = z.object({ tags: z.array(z.string()).nullable() });

export interface OciReference {
  tag?: string;
  digest?: string;
  semver?: string;
}

export interface PulledArtifact {
  /** `<tag>@sha256:<manifest digest>`, or the digest alone for digest references. */
  revision: string;
  manifestDigest: string;
  layerDigest: string;
  size: number;
  metadata?: Record<string, string>;
  /** Regular files by slash-separated relative path (no leading `./`). */
  files: Map<string, Buffer>;
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const get = async (
  url: string,
  accept: string,
  signal: AbortSignal,
): Promise<{ body: Buffer; digest?: string }> => {
  const response = await fetch(url, { headers: { Accept: accept }, signal });
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    const text = body.toString('utf8').trim();
    throw new Error(`GET ${url}: unexpected status code ${response.status} ${response.statusText}: ${text}`);
  }
  const digest = response.headers.get('docker-content-digest');
  return digest ? { body, digest } : { body };
};

/** Extracts regular files; rejects absolute or escaping entry names like Flux's tar.Untar, skips links. */
export const extractTarGzip = async (data: Buffer): Promise<Map<string, Buffer>> => {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      const name = header.name;
      const normalized = posix.normalize(name);
      if (posix.isAbsolute(name) || normalized === '..' || normalized.startsWith('../')) {
        stream.resume();
        reject(new Error(`tar contained invalid name error "${name}"`));
        return;
      }
      stream.on('data', (chunk: unknown) => {
        chunks.push(chunk as Buffer);
      });
      stream.on('end', () => {
        if (header.type === 'file' || header.type === 'contiguous-file') {
          files.set(normalized.replace(/^\.\//, ''), Buffer.concat(chunks));
        }
        next();
      });
      stream.resume();
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  const gunzip = createGunzip();
  gunzip.on('error', (error) =>
    extract.destroy(new Error(`requires gzip-compressed body: ${error.message}`)),
  );
  Readable.from([data]).pipe(gunzip).pipe(extract);
  await done;
  return files;
};

const resolveSemver = async (base: string, range: string, signal: AbortSignal): Promise<string> => {
  const { body } = await get(`${base}/tags/list`, 'application/json', signal);
  const tags = (TagList.parse(JSON.parse(body.toString('utf8'))).tags ?? []).filter((tag) =>
    semver.valid(tag),
  );
  const best = semver.maxSatisfying(tags, range);
  if (!best) throw new Error(`no match found for semver: ${range}`);
  return best;
};

export const pullArtifact = async (
  url: string,
  reference: OciReference,
  options: { endpoint: (hostPort: string) => string; layerMediaType?: string; signal: AbortSignal },
): Promise<PulledArtifact> => {
  const match = /^oci:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`invalid OCI URL '${url}'`);
  const [, host = '', repository = ''] = match;
  const base = `http://${options.endpoint(host)}/v2/${repository}`;
  const tag = reference.semver
    ? await resolveSemver(base, reference.semver, options.signal)
    : reference.digest
      ? undefined
      : (reference.tag ?? 'latest');
  const manifestResponse = await get(
    `${base}/manifests/${reference.digest ?? tag}`,
    MANIFEST_ACCEPT,
    options.signal,
  );
  const manifestDigest = manifestResponse.digest ?? sha256(manifestResponse.body);
  const parsed = OciManifest.safeParse(JSON.parse(manifestResponse.body.toString('utf8')));
  if (!parsed.success) throw new Error(`failed to parse artifact manifest: ${parsed.error.message}`);
  const manifest = parsed.data;
  const layer = options.layerMediaType
    ? manifest.layers.find((candidate) => candidate.mediaType === options.layerMediaType)
    : manifest.layers[0];
  if (!layer) {
    throw new Error(
      options.layerMediaType
        ? `failed to find layer with type '${options.layerMediaType}'`
        : 'no layers found in artifact',
    );
  }
  const { body: blob } = await get(`${base}/blobs/${layer.digest}`, '*/*', options.signal);
  if (sha256(blob) !== layer.digest) {
    throw new Error(`layer digest mismatch: expected ${layer.digest}, got ${sha256(blob)}`);
  }
  const files = await extractTarGzip(blob).catch((error: unknown) => {
    throw new LayerOperationError(
      `failed to extract layer contents from artifact: ${(error as Error).message}`,
    );
  });
  return {
    revision: tag ? `${tag}@${manifestDigest}` : manifestDigest,
    manifestDigest,
    layerDigest: layer.digest,
    size: blob.length,
    ...(manifest.annotations ? { metadata: manifest.annotations } : {}),
    files,
  };
};
