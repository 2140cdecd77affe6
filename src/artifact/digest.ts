import { createHash } from 'node:crypto';

/** An OCI content digest, `sha256:<hex>`: what the registry computes for blobs and manifests. */
export const sha256Digest = (content: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(content).digest('hex')}`;
