import { KsailError } from '../../errors.js';
import { TAG_PATTERN } from '../../model/oci-artifact.js';
import { Digest } from './registry-schemas.js';

/** Checked before anything reaches a URL, so a caller's string can never change the request path. */
const ENDPOINT_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

export const validateEndpoint = (endpoint: string): string => {
  if (!ENDPOINT_PATTERN.test(endpoint)) {
    throw new KsailError(
      'model-invalid',
      `registry endpoint "${endpoint}" must be host:port, for example localhost:5000`,
    );
  }
  return endpoint;
};

export const isDigest = (reference: string): boolean => Digest.safeParse(reference).success;

export const validateDigest = (digest: string): string => {
  if (!isDigest(digest)) {
    throw new KsailError('model-invalid', `"${digest}" is not a digest; expected sha256:<64 hex characters>`);
  }
  return digest;
};

export const validateReference = (reference: string): string => {
  if (!TAG_PATTERN.test(reference) && !isDigest(reference)) {
    throw new KsailError(
      'model-invalid',
      `"${reference}" is neither a tag nor a digest; use a tag such as 1.0.3 or a digest sha256:<hex>`,
    );
  }
  return reference;
};

/** The `rel="next"` target of a Link header (RFC 8288), if any. */
export const nextLink = (header: string | null): string | undefined => {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(?:.*;)?\s*rel="?next"?\s*(?:;|$)/i.exec(part);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
};
