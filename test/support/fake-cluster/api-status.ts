import type { JsonObject, ResourceType } from './types.js';
import { qualifiedResource } from './types.js';

/**
 * A failed API call, rendered as the `Status` body the real API server sends. Reasons and codes follow
 * k8s.io/apimachinery/pkg/api/errors so client code can branch on them exactly as against a real cluster.
 */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'UnsupportedMediaType'
  | 'MethodNotAllowed'
  | 'Expired'
  | 'Gone'
  | 'Forbidden'
  | 'Unauthorized'
  | 'InternalError';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export class ApiStatusError extends Error {
  override readonly name = 'ApiStatusError';
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    return statusBody(this.code, this.reason, this.message, this.details);
  }
}

export const statusBody = (
  code: number,
  reason: StatusReason,
  message: string,
  details?: JsonObject,
): JsonObject => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

const detailsOf = (type: ResourceType, name: string): JsonObject => ({
  name,
  ...(type.group ? { group: type.group } : {}),
  kind: type.plural,
});

export const notFound = (type: ResourceType, name: string): ApiStatusError =>
  new ApiStatusError(
    404,
    'NotFound',
    `${qualifiedResource(type)} "${name}" not found`,
    detailsOf(type, name),
  );

export const resourceNotFound = (): ApiStatusError =>
  new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource', {});

export const namespaceNotFound = (namespace: string): ApiStatusError =>
  new ApiStatusError(404, 'NotFound', `namespaces "${namespace}" not found`, {
    name: namespace,
    kind: 'namespaces',
  });

export const alreadyExists = (type: ResourceType, name: string): ApiStatusError =>
  new ApiStatusError(
    409,
    'AlreadyExists',
    `${qualifiedResource(type)} "${name}" already exists`,
    detailsOf(type, name),
  );

export const staleConflict = (type: ResourceType, name: string): ApiStatusError =>
  new ApiStatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    detailsOf(type, name),
  );

/** 422 with one cause per field error, formatted like field.ErrorList.ToAggregate(). */
export const invalid = (type: ResourceType, name: string, causes: StatusCause[]): ApiStatusError => {
  const messages = causes.map((cause) => (cause.field ? `${cause.field}: ${cause.message}` : cause.message));
  const joined = messages.length === 1 ? (messages[0] ?? '') : `[${messages.join(', ')}]`;
  const groupKind = type.group ? `${type.kind}.${type.group}` : type.kind;
  return new ApiStatusError(422, 'Invalid', `${groupKind} "${name}" is invalid: ${joined}`, {
    name,
    ...(type.group ? { group: type.group } : {}),
    kind: type.kind,
    causes,
  });
};

export const badRequest = (message: string): ApiStatusError => new ApiStatusError(400, 'BadRequest', message);

export const unsupportedMediaType = (contentType: string, accepted: string[]): ApiStatusError =>
  new ApiStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] },
  );

export const methodNotAllowed = (method: string): ApiStatusError =>
  new ApiStatusError(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource`,
    {
      causes: [{ reason: 'UnexpectedServerResponse', message: method }],
    },
  );

export const forbidden = (message: string): ApiStatusError => new ApiStatusError(403, 'Forbidden', message);
