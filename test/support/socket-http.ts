import { request } from 'node:http';
import { connect } from 'node:net';

/**
 * Raw HTTP over a Unix socket, for tests of the daemon's control socket: node:http and node:net, so nothing on the
 * client side (the control client under test) cleans the input up.
 */

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** The server may answer (413, 400) and close while the request is still being written; its answer counts. */
const closedEarly = (error: NodeJS.ErrnoException): boolean =>
  error.code === 'EPIPE' || error.code === 'ECONNRESET';

/**
 * One HTTP request on a fresh connection. `body` as given: a string or buffer, or chunks sent one by one without a
 * content-length (chunked).
 */
export const httpCall = (
  socketPath: string,
  method: string,
  path: string,
  options: { body?: string | Buffer | readonly Buffer[]; headers?: Record<string, string> } = {},
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.once('error', (error: NodeJS.ErrnoException) => {
      if (!closedEarly(error)) reject(error);
    });
    const { body } = options;
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else req.end(body);
  });

export const postJson = (socketPath: string, path: string, body: unknown): Promise<RawResponse> =>
  httpCall(socketPath, 'POST', path, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

/** Writes raw bytes on a fresh connection and collects everything until the server closes it. */
export const rawExchange = (socketPath: string, bytes: string | Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    const chunks: Buffer[] = [];
    const answer = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (closedEarly(error)) answer();
      else reject(error);
    });
    socket.on('close', answer);
    socket.write(bytes);
  });
