import { z } from 'zod';

/**
 * The parts of the control protocol that only the server and the client share (the daemon-facing contract is in
 * control-types.ts): response bodies of the small endpoints and limits.
 */

/** Request bodies are tiny (a list of source names); anything bigger is a mistake or an attack. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export const PausedResponse = z.object({ paused: z.boolean() });
export type PausedResponse = z.infer<typeof PausedResponse>;

/** Error codes of the protocol itself (the daemon's KsailError codes travel as they are). */
export type ProtocolErrorCode =
  | 'not-found'
  | 'request-not-found'
  | 'method-not-allowed'
  | 'bad-request'
  | 'invalid-json'
  | 'invalid-body'
  | 'unsupported-media-type'
  | 'payload-too-large'
  | 'header-too-large'
  | 'request-timeout'
  | 'internal';

export const NDJSON = 'application/x-ndjson';
