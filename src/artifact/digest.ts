import { createHash } from 'node:crypto';

/** An OCI content digest, `sha256:<hex>`. */
export const sha256Digest = (content: Buffer | string): string =>
  `sha256:${createHash('sha256').update(content).digest('hex')}`;
