import type { ServerResponse } from 'node:http';
import { statusBody } from './api-status.js';
import type { ObjectFilter } from './selectors.js';
import type { EventType, ObjectStore, StoreEvent } from './store.js';
import type { KObject, ResourceType } from './types.js';
import { groupOf } from './types.js';

/**
 * A watch stream: newline-delimited JSON events over a chunked 200 response. Without a resourceVersion (or
 * "0") it first sends ADDED for every matching object; with one it replays the retained history after it,
 * or sends a single ERROR event with a 410 Expired Status when that history is gone, as the API server does.
 * An object that stops matching the selectors is reported DELETED, one that starts matching ADDED.
 */
export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  filter: ObjectFilter;
  resourceVersion?: string;
  timeoutSeconds?: number;
  bookmarks: boolean;
}

const inScope = (request: WatchRequest, object: KObject): boolean =>
  groupOf(object.apiVersion) === request.type.group &&
  object.kind === request.type.kind &&
  (request.namespace === undefined || object.metadata.namespace === request.namespace);

/** The event a watcher with these selectors sees for a store change, if any. */
const translate = (
  request: WatchRequest,
  event: StoreEvent,
): { type: EventType; object: KObject } | undefined => {
  if (!inScope(request, event.object)) return undefined;
  const now = event.type !== 'DELETED' && request.filter(event.object);
  const before = event.previous !== undefined && event.type !== 'ADDED' && request.filter(event.previous);
  if (event.type === 'DELETED') return before ? { type: 'DELETED', object: event.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: event.object };
  if (now) return { type: 'ADDED', object: event.object };
  if (before) return { type: 'DELETED', object: event.object };
  return undefined;
};

export const serveWatch = (
  store: ObjectStore,
  request: WatchRequest,
  response: ServerResponse,
  track: (response: ServerResponse) => () => void,
): void => {
  response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  response.flushHeaders();
  const write = (type: string, object: unknown): void => {
    response.write(`${JSON.stringify({ type, object })}\n`);
  };
  const requested = request.resourceVersion;
  if (requested === undefined || requested === '' || requested === '0') {
    const objects = store
      .list(request.type.group, request.type.kind, request.namespace)
      .filter(request.filter);
    for (const object of objects) write('ADDED', object);
  } else {
    const since = Number(requested);
    const history = Number.isInteger(since) ? store.eventsSince(since) : 'expired';
    if (history === 'expired') {
      write(
        'ERROR',
        statusBody(410, 'Expired', `too old resource version: ${requested} (${store.currentRevision})`),
      );
      response.end();
      return;
    }
    for (const event of history) {
      const seen = translate(request, event);
      if (seen) write(seen.type, seen.object);
    }
  }
  const unsubscribe = store.subscribe((event) => {
    const seen = translate(request, event);
    if (seen) write(seen.type, seen.object);
  });
  const untrack = track(response);
  let timer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    unsubscribe();
    untrack();
    if (timer) clearTimeout(timer);
  };
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds >= 0) {
    timer = setTimeout(() => {
      if (request.bookmarks) {
        write('BOOKMARK', {
          kind: request.type.kind,
          apiVersion: request.type.group
            ? `${request.type.group}/${request.type.version}`
            : request.type.version,
          metadata: { resourceVersion: String(store.currentRevision) },
        });
      }
      response.end();
    }, request.timeoutSeconds * 1000);
  }
  response.on('close', finish);
};
