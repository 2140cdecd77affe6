import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import {
  ApiStatusError,
  badRequest,
  methodNotAllowed,
  staleConflict,
  statusBody,
  unsupportedMediaType,
} from './api-status.js';
import type { ObjectApi, WriteOptions } from './object-api.js';
import { patchObject } from './patch-request.js';
import type { Route } from './routes.js';
import { route } from './routes.js';
import { parseSelectors } from './selectors.js';
import type { JsonObject, KObject } from './types.js';
import { apiVersionOf, isObject } from './types.js';
import { checkBodyIdentity } from './validation.js';
import { serveWatch } from './watch.js';

/** One request as the fake saw it, for tests that assert on what the client sent. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  userAgent?: string;
}

export interface HandlerContext {
  api: ObjectApi;
  /** True when a conflictNextWrites fault consumes this write. */
  takeConflict(): boolean;
  trackWatch(response: ServerResponse): () => void;
  record(request: RecordedRequest): void;
  serverAddress(): string;
}

type ResourceRoute = Extract<Route, { kind: 'resource' }>;

const send = (response: ServerResponse, code: number, body: JsonObject | string): void => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
};

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const parseObjectBody = (contentType: string | undefined, raw: string): unknown => {
  const media = (contentType ?? 'application/json').split(';')[0]?.trim() ?? '';
  try {
    if (media === 'application/json') return JSON.parse(raw) as unknown;
    if (media === 'application/yaml') return parseYaml(raw) as unknown;
  } catch (error) {
    throw badRequest(`error decoding body: ${(error as Error).message}`);
  }
  throw unsupportedMediaType(media, ['application/json', 'application/yaml']);
};

/** List bodies: built-in items carry no apiVersion/kind, custom resources do, as from a real server. */
const listBody = (api: ObjectApi, target: ResourceRoute, query: URLSearchParams): JsonObject => {
  const filter = parseSelectors(query.get('labelSelector'), query.get('fieldSelector'));
  const all = api.store
    .list(target.type.group, target.type.kind, target.type.namespaced ? target.namespace : undefined)
    .filter(filter);
  const offset = query.get('continue')
    ? Number(Buffer.from(query.get('continue') ?? '', 'base64url').toString())
    : 0;
  const limit = Number(query.get('limit') ?? '0');
  const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
  const rest = all.length - offset - page.length;
  const items = page.map((item: KObject) => {
    if (target.type.custom) return item;
    const { apiVersion: _apiVersion, kind: _kind, ...bare } = item;
    return bare;
  });
  return {
    kind: `${target.type.kind}List`,
    apiVersion: apiVersionOf(target.type),
    metadata: {
      resourceVersion: String(api.store.currentRevision),
      ...(rest > 0
        ? {
            continue: Buffer.from(String(offset + page.length)).toString('base64url'),
            remainingItemCount: rest,
          }
        : {}),
    },
    items,
  };
};

const writeOptions = (
  request: IncomingMessage,
  query: URLSearchParams,
  target: ResourceRoute,
): WriteOptions => ({
  ...(query.get('fieldManager') ? { fieldManager: query.get('fieldManager') ?? '' } : {}),
  ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
  ...(query.get('dryRun') === 'All' ? { dryRun: true } : {}),
  ...(query.get('fieldValidation') ? { fieldValidation: query.get('fieldValidation') ?? '' } : {}),
  ...(target.subresource ? { subresource: target.subresource } : {}),
});

const handleResource = async (
  context: HandlerContext,
  request: IncomingMessage,
  response: ServerResponse,
  target: ResourceRoute,
  query: URLSearchParams,
): Promise<void> => {
  const { api } = context;
  const { type, namespace, name } = target;
  const method = request.method ?? 'GET';
  const options = writeOptions(request, query, target);
  if (['POST', 'PUT', 'PATCH'].includes(method)) {
    const raw = await readBody(request);
    if ((method === 'POST') === (name !== undefined) || (method === 'POST' && target.subresource)) {
      throw methodNotAllowed(method);
    }
    if (context.takeConflict()) throw staleConflict(type, name ?? 'unknown');
    if (method === 'PATCH') {
      const force = query.get('force') === 'true';
      const result = patchObject(api, type, namespace, name ?? '', request.headers['content-type'], raw, {
        ...options,
        ...(force ? { force } : {}),
      });
      return send(response, result.created ? 201 : 200, result.object);
    }
    const body = checkBodyIdentity(
      type,
      parseObjectBody(request.headers['content-type'], raw),
      namespace,
      name,
    );
    if (method === 'POST') return send(response, 201, api.create(type, body, options));
    return send(response, 200, api.update(type, body, options));
  }
  if (method === 'GET') {
    if (name !== undefined) return send(response, 200, api.get(type, namespace, name));
    const watch = query.get('watch');
    if (watch === 'true' || watch === '1') {
      const timeout = query.get('timeoutSeconds');
      return serveWatch(
        api.store,
        {
          type,
          ...(namespace !== undefined ? { namespace } : {}),
          filter: parseSelectors(query.get('labelSelector'), query.get('fieldSelector')),
          ...(query.get('resourceVersion') !== null
            ? { resourceVersion: query.get('resourceVersion') ?? '' }
            : {}),
          ...(timeout !== null ? { timeoutSeconds: Number(timeout) } : {}),
          bookmarks: query.get('allowWatchBookmarks') === 'true',
        },
        response,
        (watched) => context.trackWatch(watched),
      );
    }
    return send(response, 200, listBody(api, target, query));
  }
  if (method === 'DELETE') {
    const raw = await readBody(request);
    const deleteBody = raw.trim() ? parseObjectBody(request.headers['content-type'], raw) : {};
    const preconditions =
      isObject(deleteBody) && isObject(deleteBody['preconditions']) ? deleteBody['preconditions'] : {};
    if (target.subresource) throw methodNotAllowed(method);
    if (name === undefined) {
      const list = listBody(api, target, query);
      for (const item of list['items'] as KObject[])
        api.delete(type, item.metadata.namespace, item.metadata.name ?? '', options);
      return send(response, 200, list);
    }
    const rv = preconditions['resourceVersion'];
    const result = api.delete(type, namespace, name, {
      ...options,
      ...(typeof rv === 'string' ? { resourceVersion: rv } : {}),
    });
    const pending = api.find(type, namespace, name) !== undefined && !options.dryRun;
    return send(response, pending ? 202 : 200, result);
  }
  throw methodNotAllowed(method);
};

/** The request listener of the fake API server. */
export const createHandler =
  (context: HandlerContext) =>
  (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://fake');
    context.record({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(request.headers['content-type'] ? { contentType: request.headers['content-type'] } : {}),
      ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
    });
    const handle = async (): Promise<void> => {
      if (!/^Bearer \S+/.test(request.headers.authorization ?? '')) {
        return send(response, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      }
      const target = route(context.api.types(), url.pathname, context.serverAddress());
      if (target.kind === 'document') {
        if (request.method !== 'GET') throw methodNotAllowed(request.method ?? '');
        return send(response, 200, target.body);
      }
      return handleResource(context, request, response, target, url.searchParams);
    };
    handle().catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const status =
        error instanceof ApiStatusError
          ? error
          : new ApiStatusError(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`);
      send(response, status.code, status.toStatus());
    });
  };
