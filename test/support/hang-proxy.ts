import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of an API server that can hang (issue #13): while hung, it accepts connections and reads
 * what arrives but never answers and never passes anything on, in both directions, on old connections and new;
 * like an API server whose process is stopped (SIGSTOP) or a network that drops packets. `hang(false)` lets new
 * connections through again; the hung ones stay silent until their clients time out.
 */
export interface HangProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  hang(on: boolean): void;
  close(): Promise<void>;
}

export const startHangProxy = async (target: { host: string; port: number }): Promise<HangProxy> => {
  let hung = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = createServer((client) => {
    track(client);
    if (hung) {
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    let frozen = false;
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        frozen ||= hung;
        if (!frozen) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!frozen) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    hang: (on) => {
      hung = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
};
