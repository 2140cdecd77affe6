import { request as httpRequest, type Agent, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * The faulty proxy's `hold()`: matching requests are accepted and their bodies read, but nothing is passed on or
 * answered until the test releases (the registry then gets them, as if late) or drops them (it never does). This
 * stops a client at a known point of a protocol, e.g. a push waiting for its manifest PUT.
 */
export interface HoldRecord {
  method: string;
  /** Path and query as received. */
  url: string;
  status?: number | 'reset';
  /** Held by `hold()`: accepted but not passed on (yet). */
  held?: boolean;
  /** A held request's body has fully arrived at the proxy. */
  received?: boolean;
}

export interface HeldRequests<R extends HoldRecord = HoldRecord> {
  /** The requests held so far, in arrival order (a live array). */
  readonly requests: readonly R[];
  /**
   * Stops holding and passes the held requests on to the registry, in arrival order, with their bodies; the
   * answers go to the clients that are still connected (a killed client's push still lands in the registry).
   * Resolves once the registry answered them all.
   */
  release(): Promise<void>;
  /** Stops holding and closes the held connections: the registry never sees those requests. */
  drop(): void;
}

export interface Holder<R extends HoldRecord> {
  /** Holds the request when the current hold matches it; false: pass it on as usual. */
  take(req: IncomingMessage, res: ServerResponse, record: R): boolean;
  /** Starts a hold; a new one replaces (drops) the previous one. */
  hold(match: (method: string, url: string) => boolean): HeldRequests<R>;
  /** Drops the current hold, if any (on close). */
  dropAll(): void;
}

interface Entry<R> {
  req: IncomingMessage;
  res: ServerResponse;
  record: R;
  body: Buffer[];
}

export const createHolder = <R extends HoldRecord>(target: {
  host: string;
  port: number;
  agent: Agent;
}): Holder<R> => {
  let current:
    { match: (method: string, url: string) => boolean; entries: Entry<R>[]; records: R[] } | undefined;

  /** Sends a held request (its buffered body) to the registry; answers the client if it is still there. */
  const replay = ({ req, res, record, body }: Entry<R>): Promise<void> =>
    new Promise((resolve) => {
      const upstream = httpRequest(
        { ...target, method: req.method, path: record.url, headers: req.headers },
        (answer) => {
          record.status = answer.statusCode ?? 502;
          answer.on('end', () => resolve());
          if (res.destroyed || res.socket?.destroyed !== false) {
            answer.resume();
            return;
          }
          res.writeHead(record.status, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        record.status = 502;
        if (!res.headersSent && !res.destroyed) res.writeHead(502).end();
        resolve();
      });
      upstream.end(Buffer.concat(body));
    });

  const stop = (state: NonNullable<typeof current>): Entry<R>[] => {
    if (current === state) current = undefined;
    return state.entries.splice(0);
  };

  return {
    take: (req, res, record) => {
      if (!current?.match(record.method, record.url)) return false;
      record.held = true;
      const entry: Entry<R> = { req, res, record, body: [] };
      current.entries.push(entry);
      current.records.push(record);
      req.on('data', (chunk: Buffer) => entry.body.push(chunk));
      req.on('end', () => {
        record.received = true;
      });
      return true;
    },
    hold: (match) => {
      if (current) for (const entry of stop(current)) entry.req.socket.destroy();
      const state = { match, entries: [] as Entry<R>[], records: [] as R[] };
      current = state;
      return {
        requests: state.records,
        release: async () => {
          for (const entry of stop(state)) {
            // A body cut short (the client died mid-upload) is not a request the registry could have seen.
            if (entry.record.received) await replay(entry);
            else entry.req.socket.destroy();
          }
        },
        drop: () => {
          for (const entry of stop(state)) entry.req.socket.destroy();
        },
      };
    },
    dropAll: () => {
      if (current) for (const entry of stop(current)) entry.req.socket.destroy();
    },
  };
};
