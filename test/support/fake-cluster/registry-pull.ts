import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import semver from 'semver';
import tar from 'tar-stream';
import { z } from 'zod';
import { goValue } from './go-format.js';

/**
 * source-controller's registry side for OCIRepository (ocirepository_controller.go): `getArtifactRef` and
 * `getRevision` resolve spec.ref to `<tag>@<manifest digest>` (HEAD, then GET, of the manifest), and the pull in
 * `reconcileSource` fetches the manifest by digest, picks the layer (`selectLayer`) and extracts the gzip tarball
 * (fluxcd/pkg/tar Untar). Errors carry Flux's reason and message, with go-containerregistry's error text
 * (pkg/v1/remote/transport/error.go, ping.go). The registry is spoken to over plain HTTP.
 */
export const OCI_PULL_FAILED = 'OCIArtifactPullFailed';
export const LAYER_OPERATION_FAILED = 'OCIArtifactLayerOperationFailed';

/** A failed step of reconcileSource: the FetchFailed condition's reason and message; URLInvalid stalls. */
export class FetchError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly stalling = false,
  ) {
    super(message);
  }
}

const Descriptor = z.object({ mediaType: z.string(), digest: z.string(), size: z.number() });
const OciManifest = z.object({
  schemaVersion: z.literal(2),
  layers: z.array(Descriptor),
  annotations: z.record(z.string(), z.string()).optional(),
});
const TagList = z.object({ tags: z.array(z.string()).nullable() });
const RegistryErrors = z.object({
  errors: z.array(z.object({ code: z.string(), message: z.string().optional(), detail: z.unknown() })),
});

export interface OciReference {
  tag?: string;
  digest?: string;
  semver?: string;
}

export interface RegistryOptions {
  /** host:port of spec.url → where the registry listens. */
  endpoint: (hostPort: string) => string;
  insecure: boolean;
  signal: AbortSignal;
}

export interface ResolvedArtifact {
  /** `<tag>@sha256:<manifest digest>`, or the digest alone for a digest reference. */
  revision: string;
  /** The reference as go-containerregistry prints it: `<host>/<repository>:<tag>` or `…@<digest>`. */
  ref: string;
  digest: string;
}

export interface PulledArtifact {
  metadata?: Record<string, string>;
  layerDigest: string;
  size: number;
  /** Regular files by slash-separated relative path (no leading `./`). */
  files: Map<string, Buffer>;
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Target {
  host: string;
  repository: string;
  /** http://<endpoint>/v2/<repository> */
  base: string;
  /** http://<host>/v2/<repository>, as error messages show it. */
  shown: string;
}

/** parseRepository: `oci://<domain>/<org>/<repo>`, with a valid repository name. */
const parseUrl = (url: string, options: RegistryOptions): Target => {
  const invalid = (why: string) =>
    new FetchError('URLInvalid', `URL validation failed for '${url}': ${why}`, true);
  const match = /^oci:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw invalid("URL must be in format 'oci://<domain>/<org>/<repo>'");
  const [, host = '', repository = ''] = match;
  // go-containerregistry name.NewRepository (checkRepository) rejects a tag before Flux's own check could.
  if (!/^[a-z0-9_\-./]+$/.test(repository)) {
    throw invalid(
      `repository can only contain the characters \`abcdefghijklmnopqrstuvwxyz0123456789_-./\`: ${repository}`,
    );
  }
  return {
    host,
    repository,
    base: `http://${options.endpoint(host)}/v2/${repository}`,
    shown: `http://${host}/v2/${repository}`,
  };
};

/** transport.Error: `<METHOD> <url>: <CODE>: <message>; <detail>`, or the status when the body has no errors. */
const responseError = async (method: string, shownUrl: string, response: Response): Promise<Error> => {
  const text = method === 'HEAD' ? '' : (await response.text()).trim();
  const status = `unexpected status code ${response.status} ${STATUS_CODES[response.status] ?? ''}`;
  let described = text ? `${status}: ${text}` : status;
  try {
    const { errors } = RegistryErrors.parse(JSON.parse(text));
    const parts = errors.map(
      (entry) =>
        `${entry.code}: ${entry.message ?? ''}${entry.detail === undefined || entry.detail === null ? '' : `; ${goValue(entry.detail)}`}`,
    );
    if (parts.length === 1) described = parts[0] ?? described;
    else if (parts.length > 1) described = `multiple errors returned: ${parts.join('; ')}`;
  } catch {
    // not a registry error body: keep the status line
  }
  return new Error(`${method} ${shownUrl}: ${described}`);
};

/**
 * transport.ping: https first, plain http as fallback for insecure or local registries; both failures are joined.
 * The fake only dials plain http, so a refused connection is reported for both schemes.
 */
const ping = async (target: Target, options: RegistryOptions): Promise<void> => {
  const address = new URL(target.base).host;
  try {
    const response = await fetch(`http://${address}/v2/`, { signal: options.signal });
    await response.arrayBuffer();
  } catch (error) {
    if (options.signal.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const dial = `dial tcp ${address}: ${cause?.code === 'ECONNREFUSED' ? 'connect: connection refused' : (cause?.message ?? String(error))}`;
    const local = /^(localhost|127\.0\.0\.1|\[::1\])(:|$)/.test(target.host);
    const schemes = options.insecure || local ? ['https', 'http'] : ['https'];
    throw new Error(schemes.map((scheme) => `Get "${scheme}://${target.host}/v2/": ${dial}`).join('; '));
  }
};

const request = async (
  method: 'GET' | 'HEAD',
  target: Target,
  path: string,
  accept: string,
  options: RegistryOptions,
): Promise<{ body: Buffer; digest: string | null }> => {
  const response = await fetch(`${target.base}/${path}`, {
    method,
    headers: { Accept: accept },
    signal: options.signal,
  });
  if (!response.ok) throw await responseError(method, `${target.shown}/${path}`, response);
  const body = Buffer.from(await response.arrayBuffer());
  return { body, digest: response.headers.get('docker-content-digest') };
};

/** getArtifactRef + getRevision. */
export const resolveArtifact = async (
  url: string,
  reference: OciReference,
  options: RegistryOptions,
): Promise<ResolvedArtifact> => {
  const target = parseUrl(url, options);
  const name = `${target.host}/${target.repository}`;
  if (reference.digest)
    return { revision: reference.digest, ref: `${name}@${reference.digest}`, digest: reference.digest };
  let tag = reference.tag ?? 'latest';
  if (reference.semver) {
    try {
      await ping(target, options);
      const { body } = await request('GET', target, 'tags/list', 'application/json', options);
      const tags = (TagList.parse(JSON.parse(body.toString('utf8'))).tags ?? []).filter((t) =>
        semver.valid(t),
      );
      const best = semver.maxSatisfying(tags, reference.semver);
      if (!best) throw new Error(`no match found for semver: ${reference.semver}`);
      tag = best;
    } catch (error) {
      const message = `failed to determine the artifact tag for '${url}': ${(error as Error).message}`;
      throw new FetchError('ReadOperationFailed', message);
    }
  }
  try {
    await ping(target, options);
    const head = await request('HEAD', target, `manifests/${tag}`, MANIFEST_ACCEPT, options).catch(
      () => undefined,
    );
    const found = head?.digest
      ? head
      : await request('GET', target, `manifests/${tag}`, MANIFEST_ACCEPT, options);
    const digest = found.digest ?? sha256(found.body);
    return { revision: `${tag}@${digest}`, ref: `${name}:${tag}`, digest };
  } catch (error) {
    throw new FetchError(OCI_PULL_FAILED, `failed to determine artifact digest: ${(error as Error).message}`);
  }
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

/** The pull in reconcileSource: remote.Image by digest, Manifest, selectLayer, Untar. */
export const pullArtifact = async (
  url: string,
  resolved: ResolvedArtifact,
  options: RegistryOptions & { layerMediaType?: string },
): Promise<PulledArtifact> => {
  const target = parseUrl(url, options);
  const manifestResponse = await (async () => {
    await ping(target, options);
    return request('GET', target, `manifests/${resolved.digest}`, MANIFEST_ACCEPT, options);
  })().catch((error: unknown) => {
    throw new FetchError(
      OCI_PULL_FAILED,
      `failed to pull artifact from '${url}': ${(error as Error).message}`,
    );
  });
  const layerError = (message: string) => new FetchError(LAYER_OPERATION_FAILED, message);
  const parsed = OciManifest.safeParse(JSON.parse(manifestResponse.body.toString('utf8')));
  if (!parsed.success) throw layerError(`failed to parse artifact manifest: ${parsed.error.message}`);
  const { layers, annotations } = parsed.data;
  if (!layers.length) throw layerError('no layers found in artifact');
  const layer = options.layerMediaType
    ? layers.find((candidate) => candidate.mediaType === options.layerMediaType)
    : layers[0];
  if (!layer)
    throw layerError(`failed to find layer with media type '${options.layerMediaType ?? ''}' in artifact`);
  const files = await (async () => {
    const { body } = await request('GET', target, `blobs/${layer.digest}`, '*/*', options);
    if (sha256(body) !== layer.digest) {
      throw new Error(`error verifying sha256 checksum; got "${sha256(body)}", want "${layer.digest}"`);
    }
    return { size: body.length, files: await extractTarGzip(body) };
  })().catch((error: unknown) => {
    throw layerError(`failed to extract layer contents from artifact: ${(error as Error).message}`);
  });
  return { ...(annotations ? { metadata: annotations } : {}), layerDigest: layer.digest, ...files };
};
