import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../logger.js';
import type { z } from 'zod';
import type { ErrorBody } from './control-types.js';
import type { ProtocolErrorCode } from './socket-protocol.js';

/** Small HTTP helpers for the control server: JSON responses, JSON errors and bounded, validated bodies. */

export interface HttpFailure {
  status: number;
  /** A ProtocolErrorCode, or the daemon's KsailError code. */
  code: string;
  message: string;
  headers?: Record<string, string>;
}

export type BodyResult<T> = { ok: true; value: T } | ({ ok: false } & HttpFailure);

export const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  // A body we stopped reading (413) cannot be followed by another request on this connection.
  if (headers.connection === 'close') res.once('finish', () => res.socket?.destroy());
  res.end(text);
};

export const errorBody = (code: string, message: string): ErrorBody => ({ error: { code, message } });

export const sendError = (res: ServerResponse, failure: HttpFailure): void => {
  sendJson(res, failure.status, errorBody(failure.code, failure.message), failure.headers);
};

/** A complete HTTP response for a socket that never became a request (garbage, oversized headers). */
export const rawErrorResponse = (
  status: number,
  reason: string,
  code: ProtocolErrorCode,
  message: string,
) => {
  const text = JSON.stringify(errorBody(code, message));
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
};

const isJsonType = (value: string): boolean => {
  const type = value.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || (type?.startsWith('application/') === true && type.endsWith('+json'));
};

const tooLarge = (maxBytes: number): HttpFailure => ({
  status: 413,
  code: 'payload-too-large',
  message: `request body is larger than ${maxBytes} bytes; send only {"sources": [...]} and options`,
  headers: { connection: 'close' },
});

/** Reads at most `maxBytes`; beyond that stops reading and reports 413 (the caller closes the connection). */
const readRaw = (req: IncomingMessage, maxBytes: number): Promise<BodyResult<string>> =>
  new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      resolve({ ok: false, ...tooLarge(maxBytes) });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult<string>): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        finish({ ok: false, ...tooLarge(maxBytes) });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish({ ok: true, value: Buffer.concat(chunks).toString('utf8') }));
    req.once('error', (error) =>
      finish({
        ok: false,
        status: 400,
        code: 'bad-request',
        message: `cannot read request body: ${error.message}`,
      }),
    );
    req.once('close', () =>
      finish({
        ok: false,
        status: 400,
        code: 'bad-request',
        message: 'connection closed before the body ended',
      }),
    );
  });

const describeIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');

/**
 * Reads a JSON body and validates it. An empty body stands for `{}` (all defaults); a non-empty one must be
 * declared as JSON.
 */
export const readJsonBody = async <S extends z.ZodType>(
  req: IncomingMessage,
  schema: S,
  maxBytes: number,
): Promise<BodyResult<z.infer<S>>> => {
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && !isJsonType(contentType)) {
    return {
      ok: false,
      status: 415,
      code: 'unsupported-media-type',
      message: `content type ${contentType} is not supported; send application/json`,
    };
  }
  const raw = await readRaw(req, maxBytes);
  if (!raw.ok) return raw;
  const text = raw.value.trim();
  if (text !== '' && contentType === undefined) {
    return {
      ok: false,
      status: 415,
      code: 'unsupported-media-type',
      message: 'request body has no content type; send it as application/json',
    };
  }
  let value: unknown = {};
  if (text !== '') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      return {
        ok: false,
        status: 400,
        code: 'invalid-json',
        message: `request body is not valid JSON: ${(error as Error).message}`,
      };
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      status: 400,
      code: 'invalid-body',
      message: `invalid request body: ${describeIssues(parsed.error)}`,
    };
  }
  return { ok: true, value: parsed.data };
};

/** node:http 'clientError': bytes that are not HTTP get a JSON 400 (431, 408) and the connection closes. */
export const onClientError = (error: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void => {
  // A response already under way on this connection cannot be followed by another one.
  const inFlight =
    (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight) {
    socket.destroy();
    return;
  }
  logger.debug('malformed control request', { code: error.code, error: error.message });
  const response =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? rawErrorResponse(
          431,
          'Request Header Fields Too Large',
          'header-too-large',
          'request headers are too large',
        )
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? rawErrorResponse(408, 'Request Timeout', 'request-timeout', 'the request did not arrive in time')
        : rawErrorResponse(
            400,
            'Bad Request',
            'bad-request',
            `malformed HTTP request (${error.code ?? 'parse error'})`,
          );
  socket.end(response, () => socket.destroy());
};
