// The real cluster for the cluster section: test/support/real-cluster (TypeScript, compiled by compile-ts.mjs)
// run in a child process (real-cluster-child.mjs), plus the bench's own reads and writes of its API server: plain
// HTTPS requests with the cluster's bearer token and CA, and watches (NDJSON events).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from './children.mjs';
import { compileTs } from './compile-ts.mjs';

// binaries.ts runs `scripts/real-cluster/build.sh --cached` relative to itself: the compiled copy gets a link.
const compile = () =>
  compileTs({
    name: 'real-cluster',
    entries: [
      'test/support/real-cluster/binaries.ts',
      'test/support/real-cluster/cluster.ts',
      'test/support/real-cluster/processes.ts',
    ],
    inputs: ['test/support/real-cluster', 'test/support/free-port.ts', 'src'],
    links: ['scripts'],
  });

/**
 * A watch on one object: `GET <collection>?watch=1&fieldSelector=metadata.name=<name>` (collection: e.g.
 * /api/v1/namespaces/<ns>/configmaps), open until `close()`; reconnects from the last resourceVersion when the API
 * server ends it. Every event gets `receivedAt` (performance.now() when its line arrived). `next(match)` resolves
 * with the first event from now on whose object matches; `since(time)` lists the events received from `time` on.
 */
const watchObject = async (api, collection, name) => {
  const listeners = new Set();
  const events = [];
  let resourceVersion;
  let closed = false;
  let req;
  const connect = () =>
    new Promise((resolve, reject) => {
      const query = new URLSearchParams({ watch: '1', fieldSelector: `metadata.name=${name}` });
      if (resourceVersion) query.set('resourceVersion', resourceVersion);
      req = request(
        `${api.server}${collection}?${query}`,
        { ca: api.ca, headers: { Authorization: `Bearer ${api.token}`, Accept: 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`watch ${collection}/${name}: ${res.statusCode}`));
            return;
          }
          resolve();
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            const receivedAt = performance.now();
            buffered += chunk;
            const lines = buffered.split('\n');
            buffered = lines.pop() ?? '';
            for (const line of lines.filter(Boolean)) {
              const event = { ...JSON.parse(line), receivedAt };
              if (event.type === 'ERROR') {
                // 410 Gone: the resourceVersion is too old; the next connection starts from the current state.
                resourceVersion = undefined;
                continue;
              }
              resourceVersion = event.object?.metadata?.resourceVersion ?? resourceVersion;
              events.push(event);
              for (const listener of [...listeners]) listener(event);
            }
          });
          res.on('end', () => {
            if (!closed) void connect().catch(() => undefined);
          });
          res.on('error', () => undefined);
        },
      );
      req.on('error', (error) => {
        if (!closed) reject(error);
      });
      req.end();
    });
  await connect();
  return {
    since: (time) => events.filter((event) => event.receivedAt >= time),
    next: (match, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`${collection}/${name}: no matching watch event within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = (event) => {
          if (!event.object || !match(event.object)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(event);
        };
        listeners.add(listener);
      }),
    close: () => {
      closed = true;
      req?.destroy();
    },
  };
};

/**
 * Starts the real cluster in a child process. Resolves with {missing: reason} when its binaries are not built,
 * else with the cluster ({server, token, caFile, kubeconfigPath, fluxBinary, logDir}), its API (`api(method, path,
 * body, contentType)`, `watch(collection, name)`) and `close()`.
 */
export const startRealCluster = async () => {
  const [binaries, cluster, processes] = compile();
  const child = track(
    spawn(
      process.execPath,
      [fileURLToPath(new URL('./real-cluster-child.mjs', import.meta.url)), binaries, cluster, processes],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    ),
    { graceMs: 30_000 },
  );
  const stderr = [];
  child.stderr.on('data', (chunk) => {
    stderr.push(chunk.toString('utf8'));
    if (stderr.length > 50) stderr.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let closing;
  const close = () => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    })();
    return closing;
  };
  let first;
  try {
    first = await new Promise((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code, signal) =>
        reject(new Error(`real cluster exited ${code ?? signal}: ${stderr.join('')}`)),
      );
    });
  } catch (error) {
    await close();
    throw error;
  }
  if (first.missing) {
    await close();
    return { missing: first.missing };
  }
  // The launcher's own request helper (compiled above), so the bench and the tests talk to the API alike.
  const { apiRequest } = await import(cluster);
  const api = { server: first.server, token: first.token, ca: await readFile(first.caFile) };
  return {
    ...first,
    api: (method, path, body, contentType) => apiRequest(api, method, path, body, contentType),
    watch: (collection, name) => watchObject(api, collection, name),
    close,
  };
};
