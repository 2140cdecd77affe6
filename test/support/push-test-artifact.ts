import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/**
 * Pushes a Flux OCI artifact (as `flux push artifact` lays it out: config `{}` of type
 * application/vnd.cncf.flux.config.v1+json, one tar+gzip layer of type
 * application/vnd.cncf.flux.content.v1.tar+gzip) to a real registry with plain fetch. Independent of the
 * product code so tests of that code can use it as a reference.
 */
export const FLUX_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.flux.config.v1+json';
export const FLUX_CONTENT_MEDIA_TYPE = 'application/vnd.cncf.flux.content.v1.tar+gzip';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

export interface PushedTestArtifact {
  /** `oci://<endpoint>/<repository>` */
  url: string;
  tag: string;
  manifestDigest: string;
  layerDigest: string;
  /** Flux's revision for the tag: `<tag>@<manifest digest>`. */
  revision: string;
}

const digestOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A gzip tarball of the files (entry names are used verbatim, so unsafe names can be tested too). */
export const buildTarGzip = async (files: Record<string, string | Buffer>): Promise<Buffer> => {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = new Promise<void>((resolve, reject) => {
    pack.on('data', (chunk: unknown) => {
      chunks.push(chunk as Buffer);
    });
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const [name, content] of Object.entries(files)) {
    pack.entry(
      { name, mtime: new Date(0), mode: 0o644 },
      typeof content === 'string' ? Buffer.from(content) : content,
    );
  }
  pack.finalize();
  await collected;
  return gzipSync(Buffer.concat(chunks));
};

const expectOk = async (response: Response, what: string): Promise<void> => {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
};

const uploadBlob = async (base: string, data: Buffer): Promise<string> => {
  const digest = digestOf(data);
  const head = await fetch(`${base}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return digest;
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  await expectOk(start, 'start blob upload');
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  await expectOk(put, `upload blob ${digest}`);
  return digest;
};

/**
 * Pushes config `{}` and `layer` (any bytes: a tarball, or random data to fill a registry) under `tag`, laid out as
 * a Flux artifact. `endpoint` is `127.0.0.1:<port>`.
 */
export const pushFluxManifest = async (
  endpoint: string,
  repository: string,
  tag: string,
  layer: Buffer,
): Promise<{ manifestDigest: string; layerDigest: string }> => {
  const base = `http://${endpoint}/v2/${repository}`;
  const config = Buffer.from('{}');
  const [configDigest, layerDigest] = await Promise.all([uploadBlob(base, config), uploadBlob(base, layer)]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: FLUX_CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
      layers: [{ mediaType: FLUX_CONTENT_MEDIA_TYPE, digest: layerDigest, size: layer.length }],
      annotations: {
        'org.opencontainers.image.created': new Date().toISOString(),
        'org.opencontainers.image.source': 'test',
        'org.opencontainers.image.revision': tag,
      },
    }),
  );
  const put = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': OCI_MANIFEST_MEDIA_TYPE },
    body: manifest,
  });
  await expectOk(put, `push manifest ${repository}:${tag}`);
  return { manifestDigest: put.headers.get('docker-content-digest') ?? digestOf(manifest), layerDigest };
};

export const pushTestArtifact = async (options: {
  /** `127.0.0.1:<port>` of the registry. */
  endpoint: string;
  repository: string;
  tag: string;
  files: Record<string, string | Buffer>;
  /** Host written into the returned url (default: the endpoint), e.g. `localhost:5000` as a cluster sees it. */
  urlHost?: string;
}): Promise<PushedTestArtifact> => {
  const layer = await buildTarGzip(options.files);
  const { manifestDigest, layerDigest } = await pushFluxManifest(
    options.endpoint,
    options.repository,
    options.tag,
    layer,
  );
  return {
    url: `oci://${options.urlHost ?? options.endpoint}/${options.repository}`,
    tag: options.tag,
    manifestDigest,
    layerDigest,
    revision: `${options.tag}@${manifestDigest}`,
  };
};
