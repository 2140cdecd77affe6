import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { createHolder, type HeldRequests } from './proxy-hold.js';

export type { HeldRequests } from './proxy-hold.js';

/**
 * A reverse proxy on 127.0.0.1 in front of a REAL registry, with switchable faults: answer the next requests
 * with an error status or a reset connection, refuse connections altogether (down), hold requests unanswered
 * until released, or paginate tag lists the way distribution v3 does (the 2.8 test registry ignores `?n=`).
 * Everything else is passed through untouched, Host header included, so upload Locations point back at the proxy.
 */
export type ProxyFault = number | 'reset';

export interface ProxiedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** The status sent back, the fault's status, or 'reset'; undefined while in flight. */
  status?: number | 'reset';
  faulted: boolean;
  /** Which accepted TCP connection (1-based) carried it. */
  connection: number;
  /** Held by `hold()`: accepted but not passed on (yet). */
  held?: boolean;
  /** A held request's body has fully arrived at the proxy. */
  received?: boolean;
}

export interface FailOptions {
  /** Retry-After (seconds) on the fault answer. */
  retryAfterSeconds?: number;
  /** Only requests this accepts are failed (and counted); others pass. */
  match?: (method: string, url: string) => boolean;
}

export interface FaultyProxy {
  /** `127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The next `count` (matching) requests get `fault` (default 500) instead of reaching the registry. */
  failNext(count: number, fault?: ProxyFault, options?: FailOptions): void;
  /** down: stop listening and drop open connections (clients get ECONNREFUSED); up: listen on the same port. */
  setDown(down: boolean): Promise<void>;
  down(): Promise<void>;
  up(): Promise<void>;
  /** Emulate distribution v3 tag pagination with this default page size (`?n=` wins); undefined turns it off. */
  paginateTags(pageSize: number | undefined): void;
  /**
   * From now on, matching requests are accepted (body read) but not answered until `release()` or `drop()`:
   * a push stuck at a known point, e.g. its manifest PUT. A new hold replaces (drops) the previous one.
   */
  hold(match: (method: string, url: string) => boolean): HeldRequests<ProxiedRequest>;
  /** Every request seen, in arrival order (a live array). */
  readonly requests: readonly ProxiedRequest[];
  /** TCP connections accepted so far: shows whether a client reuses keep-alive connections. */
  connections(): number;
  close(): Promise<void>;
}

const TAGS_PATH = /^\/v2\/(.+)\/tags\/list$/;

export const startFaultyProxy = async (targetEndpoint: string): Promise<FaultyProxy> => {
  const [targetHost, targetPort] = splitEndpoint(targetEndpoint);
  const agent = new Agent({ keepAlive: true });
  const holder = createHolder<ProxiedRequest>({ host: targetHost, port: targetPort, agent });
  const sockets = new Set<Socket>();
  const requests: ProxiedRequest[] = [];
  let faults: { remaining: number; fault: ProxyFault; options: FailOptions } | undefined;
  let tagPageSize: number | undefined;
  let closed = false;
  let accepted = 0;
  const connectionIds = new WeakMap<Socket, number>();

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    record: ProxiedRequest,
    path: string,
    transform?: (status: number, body: Buffer) => { body: Buffer; headers: Record<string, string> },
  ): void => {
    const upstream = httpRequest(
      { host: targetHost, port: targetPort, method: req.method, path, headers: req.headers, agent },
      (answer) => {
        record.status = answer.statusCode ?? 502;
        if (!transform) {
          res.writeHead(record.status, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const changed = transform(record.status as number, Buffer.concat(chunks));
          const headers = {
            ...answer.headers,
            ...changed.headers,
            'content-length': String(changed.body.length),
          };
          res.writeHead(record.status as number, headers);
          res.end(changed.body);
        });
      },
    );
    upstream.on('error', () => {
      record.status = 502;
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    });
    req.pipe(upstream);
  };

  const paginate = (req: IncomingMessage, res: ServerResponse, record: ProxiedRequest, url: URL): void => {
    const n = Number(url.searchParams.get('n') ?? tagPageSize);
    const last = url.searchParams.get('last');
    forward(req, res, record, url.pathname, (status, body) => {
      if (status !== 200) return { body, headers: {} };
      const list = JSON.parse(body.toString('utf8')) as { name: string; tags: string[] | null };
      const remaining = [...(list.tags ?? [])].sort().filter((tag) => last === null || tag > last);
      const page = remaining.slice(0, n);
      const headers: Record<string, string> = {};
      const lastOnPage = page[page.length - 1];
      if (remaining.length > page.length && lastOnPage !== undefined) {
        const next = `${url.pathname}?last=${encodeURIComponent(lastOnPage)}&n=${n}`;
        headers.link = `<${next}>; rel="next"`;
      }
      return { body: Buffer.from(JSON.stringify({ name: list.name, tags: page })), headers };
    });
  };

  const server = createServer((req, res) => {
    const record: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      faulted: false,
      connection: connectionIds.get(req.socket) ?? 0,
    };
    requests.push(record);
    if (faults && faults.remaining > 0 && (faults.options.match?.(record.method, record.url) ?? true)) {
      faults.remaining -= 1;
      record.faulted = true;
      const { fault, options } = faults;
      if (fault === 'reset') {
        record.status = 'reset';
        req.socket.destroy();
        return;
      }
      record.status = fault;
      // Drain the request body first: answering mid-upload would reset the client's connection instead.
      req.resume();
      req.on('end', () => {
        res.writeHead(fault, {
          'content-type': 'application/json',
          ...(options.retryAfterSeconds !== undefined && {
            'retry-after': String(options.retryAfterSeconds),
          }),
        });
        res.end(
          JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `fault injected by the test proxy` }] }),
        );
      });
      return;
    }
    if (holder.take(req, res, record)) return;
    const url = new URL(record.url, 'http://proxy');
    if (tagPageSize !== undefined && req.method === 'GET' && TAGS_PATH.test(url.pathname)) {
      paginate(req, res, record, url);
      return;
    }
    forward(req, res, record, record.url);
  });
  server.on('connection', (socket) => {
    accepted += 1;
    connectionIds.set(socket, accepted);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const setDown = async (down: boolean): Promise<void> => {
    if (closed) return;
    if (down) await stopListening();
    else if (!server.listening) await listen(port);
  };

  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    failNext: (count, fault = 500, options = {}) => {
      faults = { remaining: count, fault, options };
    },
    setDown,
    down: () => setDown(true),
    up: () => setDown(false),
    paginateTags: (pageSize) => {
      tagPageSize = pageSize;
    },
    hold: (match) => holder.hold(match),
    requests,
    connections: () => accepted,
    close: async () => {
      if (closed) return;
      closed = true;
      holder.dropAll();
      await stopListening();
      agent.destroy();
    },
  };
};

const splitEndpoint = (endpoint: string): [string, number] => {
  const index = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, index).replace(/^\[|\]$/g, ''), Number(endpoint.slice(index + 1))];
};
