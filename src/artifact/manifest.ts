import { sha256Digest } from './digest.js';

/** What `flux push artifact` writes (fluxcd/pkg/oci). */
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const FLUX_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.flux.config.v1+json';
export const FLUX_CONTENT_MEDIA_TYPE = 'application/vnd.cncf.flux.content.v1.tar+gzip';

export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_SOURCE = 'org.opencontainers.image.source';
export const ANNOTATION_REVISION = 'org.opencontainers.image.revision';

/** Flux's config blob is an empty JSON object. */
const CONFIG = Buffer.from('{}');
const CONFIG_DIGEST = sha256Digest(CONFIG);

/** The config blob every artifact's manifest names: known before the manifest, so it can upload first. */
export const FLUX_CONFIG_BLOB: { readonly bytes: Buffer; readonly digest: string } = {
  bytes: CONFIG,
  digest: CONFIG_DIGEST,
};

export interface ManifestInput {
  layerDigest: string;
  layerSize: number;
  annotations: Record<string, string>;
}

export interface BuiltManifest {
  /** The bytes to PUT; its digest is the artifact's digest. */
  body: Buffer;
  digest: string;
  size: number;
  mediaType: string;
  config: Buffer;
  configDigest: string;
  configSize: number;
}

/**
 * The image manifest, serialised like go-containerregistry does it (field order, annotation keys sorted as Go's
 * encoding/json sorts map keys), so the same inputs always give the same manifest digest.
 */
export const createManifest = (input: ManifestInput): BuiltManifest => {
  const annotations = Object.fromEntries(
    Object.entries(input.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: { mediaType: FLUX_CONFIG_MEDIA_TYPE, size: CONFIG.length, digest: CONFIG_DIGEST },
    layers: [{ mediaType: FLUX_CONTENT_MEDIA_TYPE, size: input.layerSize, digest: input.layerDigest }],
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  const body = Buffer.from(JSON.stringify(manifest));
  return {
    body,
    digest: sha256Digest(body),
    size: body.length,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: Buffer.from(CONFIG),
    configDigest: CONFIG_DIGEST,
    configSize: CONFIG.length,
  };
};

/** RFC 3339 in UTC with whole seconds, as Go's time.RFC3339 prints a UTC time: 2026-01-02T03:04:05Z. */
export const rfc3339Seconds = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

export interface AnnotationInput {
  version: string;
  created: Date;
  /** Where the content came from: a git remote URL or a file:// URL. */
  source: string;
  /** Git commit of the source's work tree, when it is in one. */
  commit?: string;
}

/**
 * Flux writes `<branch>@sha1:<commit>` as the revision; we put the artifact version where the branch goes, and just
 * the version outside git. A 64-hex commit is from a SHA-256 repository.
 */
export const artifactAnnotations = (input: AnnotationInput): Record<string, string> => {
  const algorithm = input.commit?.length === 64 ? 'sha256' : 'sha1';
  return {
    [ANNOTATION_CREATED]: rfc3339Seconds(input.created),
    [ANNOTATION_REVISION]: input.commit ? `${input.version}@${algorithm}:${input.commit}` : input.version,
    [ANNOTATION_SOURCE]: input.source,
  };
};
