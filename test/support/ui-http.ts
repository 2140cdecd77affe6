import { request } from 'node:http';

/**
 * Raw HTTP to the dashboard: node:http with the path and headers exactly as given (no normalisation, no cookie
 * jar), so that each security rule is tested on what an attacker could send.
 */
export interface UiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const uiCall = (
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<UiResponse> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });

/** Reads an event stream until `until` holds for the text so far, then closes it. */
export const readStream = (
  port: number,
  path: string,
  headers: Record<string, string>,
  until: (text: string) => boolean,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> =>
  new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers }, agent: false },
      (res) => {
        let text = '';
        const done = (): void => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          req.destroy();
        };
        if (res.statusCode !== 200) {
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.once('end', done);
          return;
        }
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (until(text)) done();
        });
      },
    );
    req.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
