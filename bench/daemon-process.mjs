// The daemon as users run it (`node dist/cli/main.js start`), with its event stream (GET /v1/events on the
// control socket) and status, for the daemon, idle and cluster sections.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.mjs';

export const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const getJson = (socketPath, path) =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });

/**
 * Starts the daemon for `sources` ({name, path}, targetNamespace `default` unless given) against the bench registry
 * and `cluster` ({kubeconfigPath, contextName?}: the fake or the real one), and waits until its event stream is
 * connected. `config`: more keys of ksail-fluxd.yaml (fluxInterval, flux...); `quietPeriod` undefined keeps the
 * schema's watch defaults. `main`: the CLI to run (default this checkout's dist/; the bench's baseline runs an
 * older build). Every event gets `receivedAt` (performance.now() in this process).
 */
export const startDaemon = async ({
  dir,
  port,
  cluster,
  sources,
  quietPeriod,
  config: extra = {},
  main = MAIN,
}) => {
  await mkdir(dir, { recursive: true });
  const socketPath = join(dir, 'daemon.sock');
  const config = join(dir, 'ksail-fluxd.yaml');
  await writeFile(
    config,
    `${JSON.stringify(
      {
        project: 'bench',
        gitOpsEngine: 'Flux',
        registryEnabled: false,
        registryPort: port,
        cluster: { kubeconfig: cluster.kubeconfigPath, context: cluster.contextName },
        socket: { path: socketPath },
        ...(quietPeriod ? { watch: { quietPeriod } } : {}),
        log: { level: 'info', format: 'json' },
        sources: sources.map((source) => ({ targetNamespace: 'default', ...source })),
        ...extra,
      },
      null,
      2,
    )}\n`,
  );
  // BENCH_DAEMON_NODE_ARGS: flags for the daemon's Node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = track(
    spawn(process.execPath, [...nodeArgs, main, 'start', '--config', config], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { HOME: dir, PATH: process.env.PATH },
    }),
  );
  const log = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    log.push(chunk);
    if (log.length > 200) log.shift();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));

  const events = [];
  const listeners = new Set();
  let stream;
  for (let attempt = 0; !stream; attempt++) {
    if (exitedEarly) throw new Error(`daemon exited during start-up:\n${log.join('')}`);
    if (attempt > 400) throw new Error(`daemon socket ${socketPath} did not answer:\n${log.join('')}`);
    stream = await new Promise((resolve) => {
      const req = request({ socketPath, path: '/v1/events', method: 'GET' }, (res) => resolve({ req, res }));
      req.on('error', () => resolve(undefined));
      req.end();
    });
    if (!stream) await sleep(25);
  }
  let buffered = '';
  stream.res.setEncoding('utf8');
  stream.res.on('data', (chunk) => {
    const receivedAt = performance.now();
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const event = { ...JSON.parse(line), receivedAt };
      events.push(event);
      for (const listener of [...listeners]) listener(event);
    }
  });
  stream.res.on('error', () => undefined);

  /** Resolves with the first event (from now on) that matches, or rejects after timeoutMs. */
  const next = (match, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(
          new Error(`no matching daemon event within ${timeoutMs} ms; last log:\n${log.slice(-20).join('')}`),
        );
      }, timeoutMs);
      const listener = (event) => {
        if (!match(event)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(event);
      };
      listeners.add(listener);
    });

  const status = () => getJson(socketPath, '/v1/status');

  /** Every source pushed, patched and idle, no request pending, and no event for `quietMs`. */
  const settled = async ({ timeoutMs = 120_000, quietMs = 1000 } = {}) => {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const current = await status();
      const ready =
        current.sources.length === sources.length &&
        current.sources.every((s) => s.state === 'idle' && s.lastVersion && s.tagPatched === true) &&
        current.recentRequests.every((r) => ['succeeded', 'failed', 'superseded'].includes(r.outcome));
      const lastEvent = events.at(-1)?.receivedAt ?? 0;
      if (ready && performance.now() - lastEvent >= quietMs) return current;
      await sleep(100);
    }
    throw new Error(`daemon did not settle within ${timeoutMs} ms; last log:\n${log.slice(-20).join('')}`);
  };

  let closing;
  return {
    pid: child.pid,
    configPath: config,
    events,
    next,
    status,
    settled,
    log: () => log.join(''),
    close: () => {
      closing ??= (async () => {
        stream.req.destroy();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const result = await exited;
        clearTimeout(timer);
        return result;
      })();
      return closing;
    },
  };
};
