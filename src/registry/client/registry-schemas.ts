import { z } from 'zod';
import { OCI_MANIFEST_MEDIA_TYPE } from '../../artifact/manifest.js';

/** Media types the client asks for and recognises besides the OCI manifest we push (OCI image spec, Docker v2). */
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** The Accept header for manifest requests; without it distribution may down-convert or refuse OCI manifests. */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  DOCKER_MANIFEST_MEDIA_TYPE,
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
].join(', ');

/** Index-like media types: they have `manifests`, not `config` + `layers`. */
export const INDEX_MEDIA_TYPES: readonly string[] = [OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE];

/** OCI digest grammar (`algorithm:encoded`), also the format of the `Docker-Content-Digest` header. */
export const Digest = z
  .string()
  .regex(
    /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/,
    'expected a digest such as sha256:<64 hex characters>',
  )
  .refine((value) => !value.startsWith('sha256:') || /^sha256:[a-f0-9]{64}$/.test(value), {
    message: 'a sha256 digest has 64 lowercase hex characters',
  });
export type Digest = z.infer<typeof Digest>;

export const OciDescriptor = z.object({
  mediaType: z.string().min(1),
  digest: Digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  artifactType: z.string().optional(),
  urls: z.array(z.string()).optional(),
});
export type OciDescriptor = z.infer<typeof OciDescriptor>;

/**
 * An OCI image manifest (also the shape of a Docker v2 manifest). `mediaType` is optional because the OCI spec
 * only says SHOULD; the response's Content-Type is in `ManifestResult.mediaType` either way.
 */
export const OciManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: OciDescriptor,
  layers: z.array(OciDescriptor),
  subject: OciDescriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type OciManifest = z.infer<typeof OciManifest>;

/** `GET /v2/<name>/tags/list`; distribution answers `tags: null` for a repository whose tags were all deleted. */
export const TagList = z.object({
  name: z.string(),
  tags: z.array(z.string()).nullable(),
});
export type TagList = z.infer<typeof TagList>;

/** The Distribution error body: `{"errors":[{"code","message","detail"}]}`. */
export const RegistryErrorBody = z.object({
  errors: z
    .array(
      z.object({
        code: z.string(),
        message: z.string().optional(),
        detail: z.unknown().optional(),
      }),
    )
    .min(1),
});
export type RegistryErrorBody = z.infer<typeof RegistryErrorBody>;
