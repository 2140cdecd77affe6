import { execa, type ResultPromise } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { appendFile, readdir, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject, vi } from 'vitest';
import { createControlClient, type ControlClient } from '../../src/daemon/control/control-client.js';
import { DaemonEvent, type DaemonStatus, type SourceStatus } from '../../src/daemon/control/control-types.js';
import type { FakeCluster } from '../support/fake-cluster/index.js';
import { createTestProject, type TestProject } from '../support/project.js';

/**
 * Shared by the daemon's end-to-end tests: the built CLI run as a real child process (`node dist/cli/main.js
 * start`) with its JSON log, its event stream (`GET /v1/events`) and status (the real control client), other CLI
 * commands as children, temp projects and teardown. Readers of the registry and the cluster: daemon-readers.ts.
 */
export const ROOT = resolve(import.meta.dirname, '../..');
/** KSAIL_FLUXD_E2E_CLI runs another entry point (an installed binary, a wrapper) instead of the built one. */
export const MAIN = process.env.KSAIL_FLUXD_E2E_CLI ?? join(ROOT, 'dist/cli/main.js');
/** Generous: the 2-core CI machine may be busy with other test files' registries and builds. */
export const WAIT = { timeout: 20_000, interval: 25 } as const;
/** Where each daemon's log goes, for when a step fails. */
export const LOG_FILE = join(tmpdir(), 'ksail-fluxd-e2e-daemon.log');

/** Appends a daemon's log to LOG_FILE, which starts over once it is large (it is only for the latest failure). */
const keepLog = async (pid: number, logs: readonly LogLine[]): Promise<void> => {
  const size = await stat(LOG_FILE).then(
    (info) => info.size,
    () => 0,
  );
  const text = `${logs.map((line) => JSON.stringify({ pid, ...line })).join('\n')}\n`;
  await (size > 5 * 1024 * 1024 ? writeFile(LOG_FILE, text) : appendFile(LOG_FILE, text)).catch(
    () => undefined,
  );
};

/**
 * Builds dist/ when it is missing or older than a source file, so the test runs the code under test: the daemon
 * with tsc, the dashboard (dist/ui) with Vite (`npm run build` does both).
 */
export const ensureBuilt = async (): Promise<void> => {
  const newest = async (dir: string): Promise<number> => {
    let latest = 0;
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) latest = Math.max(latest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
    return latest;
  };
  const builtAfter = async (file: string, sources: readonly string[]): Promise<boolean> => {
    if (!existsSync(file)) return false;
    const times = await Promise.all(sources.map((dir) => newest(join(ROOT, dir))));
    return statSync(file).mtimeMs >= Math.max(...times);
  };
  if (!(await builtAfter(join(ROOT, 'dist/cli/main.js'), ['src']))) {
    await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
  }
  // The page imports the control API's schemas from src/daemon/control.
  if (!(await builtAfter(join(ROOT, 'dist/ui/index.html'), ['ui', 'src/daemon/control']))) {
    await execa('npx', ['vite', 'build', '--config', 'ui/vite.config.ts'], { cwd: ROOT });
  }
};

/** The port of the shared real registry the global set-up started. */
export const registryPort = (): number => Number(inject('registryEndpoint').split(':').pop());

/** Matches events of `type`, of `source` when given, whose data holds every entry of `data`. */
export const isEvent =
  (type: DaemonEvent['type'], match: { source?: string; data?: Record<string, unknown> } = {}) =>
  (event: DaemonEvent): boolean =>
    event.type === type &&
    (match.source === undefined || event.source === match.source) &&
    Object.entries(match.data ?? {}).every(([key, value]) => event.data[key] === value);

export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** The environment of every child: nothing from the test runner's, so the user's config and socket stay out. */
const childEnv = (home: string): NodeJS.ProcessEnv => ({
  HOME: home,
  PATH: process.env.PATH,
  XDG_RUNTIME_DIR: home,
  KSAIL_FLUXD_LOG_FORMAT: 'json',
  KSAIL_FLUXD_LOG_LEVEL: 'debug',
});

export interface DaemonProcess {
  child: ResultPromise<{ reject: false }>;
  pid: number;
  socketPath: string;
  client: ControlClient;
  /** The daemon's JSON log lines (stderr), from its first line on. */
  logs: LogLine[];
  /** Events from `GET /v1/events`, from when `startDaemon` resolved on. */
  events: DaemonEvent[];
  /** The position to look for events after: `events.length` now. */
  mark(): number;
  /** Waits for an event after `from` (default: any) that matches; returns it. */
  waitForEvent(match: (event: DaemonEvent) => boolean, from?: number, timeout?: number): Promise<DaemonEvent>;
  /** Events after `from` that match. */
  eventsSince(from: number, match?: (event: DaemonEvent) => boolean): DaemonEvent[];
  status(): Promise<DaemonStatus>;
  source(name: string): Promise<SourceStatus>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  /** Idempotent: SIGKILL when still running, then waits; for afterEach/afterAll. */
  dispose(): Promise<void>;
}

export interface StartDaemonOptions {
  configPath: string;
  /** Working directory and HOME of the daemon (a temp project dir). */
  dir: string;
  socketPath: string;
  args?: readonly string[];
}

/**
 * Starts `ksail-fluxd start` and resolves once its control socket answers and the event stream is open. The
 * start-up run may have begun before that, so synchronise on it with `status()` (or `logs`), not `events`.
 */
export const startDaemon = async (options: StartDaemonOptions): Promise<DaemonProcess> => {
  const child = execa('node', [MAIN, 'start', '--config', options.configPath, ...(options.args ?? [])], {
    cwd: options.dir,
    reject: false,
    env: childEnv(options.dir),
    extendEnv: false,
  });
  const logs: LogLine[] = [];
  const events: DaemonEvent[] = [];
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', message: line });
      }
    }
  });
  const pid = child.pid ?? 0;
  let exited = false;
  const finished = child.then((result) => {
    exited = true;
    return result;
  });
  const client = createControlClient(options.socketPath, { timeoutMs: 10_000 });
  const streamEnd = new AbortController();
  let streaming: Promise<void> = Promise.resolve();

  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      streamEnd.abort();
      if (!exited) child.kill('SIGKILL');
      await finished;
      await streaming;
      await keepLog(pid, logs);
    })());

  try {
    await vi.waitFor(async () => {
      if (exited) throw new Error(`the daemon exited at start-up; its log: ${JSON.stringify(logs)}`);
      await client.status();
    }, WAIT);
    streaming = (await openEventStream(options.socketPath, streamEnd.signal, (event) => events.push(event)))
      .ended;
  } catch (error) {
    await dispose();
    throw error;
  }

  const waitForEvent = async (
    match: (event: DaemonEvent) => boolean,
    from = 0,
    timeout: number = WAIT.timeout,
  ): Promise<DaemonEvent> =>
    vi.waitFor(
      () => {
        const found = events.slice(from).find(match);
        if (!found)
          throw new Error(`no matching daemon event yet; events: ${JSON.stringify(events.slice(from))}`);
        return found;
      },
      { timeout, interval: WAIT.interval },
    );

  return {
    child,
    pid,
    socketPath: options.socketPath,
    client,
    logs,
    events,
    mark: () => events.length,
    waitForEvent,
    eventsSince: (from, match = () => true) => events.slice(from).filter(match),
    status: () => client.status(),
    source: async (name) => {
      const found = (await client.status()).sources.find((source) => source.name === name);
      if (!found) throw new Error(`the daemon has no source ${name}`);
      return found;
    },
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal);
      const result = await finished;
      streamEnd.abort();
      await streaming;
      return { exitCode: result.exitCode, signal: result.signal };
    },
    dispose,
  };
};

/**
 * `GET /v1/events` with node:http rather than the control client, because the client does not say when the
 * stream is open: the daemon subscribes before it sends the response headers, so from then on no event is missed.
 * Resolves once the stream is open; `ended` settles when it ends.
 */
const openEventStream = (
  socketPath: string,
  signal: AbortSignal,
  onEvent: (event: DaemonEvent) => void,
): Promise<{ ended: Promise<void> }> =>
  new Promise((resolveOpen, rejectOpen) => {
    const req = httpRequest({ socketPath, path: '/v1/events', method: 'GET', agent: false, signal });
    req.once('error', rejectOpen);
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        rejectOpen(new Error(`GET /v1/events answered ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines.filter((text) => text.trim() !== '')) {
          onEvent(DaemonEvent.parse(JSON.parse(line)));
        }
      });
      // Wrapped: resolving with a bare promise would wait for the stream to end.
      resolveOpen({
        ended: new Promise<void>((resolveEnd) => {
          res.once('close', resolveEnd);
          res.once('error', () => resolveEnd());
        }),
      });
    });
    req.end();
  });

/** `ksail-fluxd <args>` as a child process, like a user in another terminal. */
export const runCli = async (
  args: readonly string[],
  options: { dir: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> => {
  const result = await execa('node', [MAIN, ...args], {
    cwd: options.dir,
    reject: false,
    env: { ...childEnv(options.dir), KSAIL_FLUXD_LOG_LEVEL: 'warn', ...options.env },
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    extendEnv: false,
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
};

/**
 * Teardown that runs every step even when some fail (each step settled on its own), newest first and one at a
 * time: a daemon must be gone before the directory it writes to is removed.
 */
export const createCleanup = () => {
  const steps: (() => Promise<unknown>)[] = [];
  return {
    add: (step: () => Promise<unknown>): void => {
      steps.push(step);
    },
    run: async (): Promise<void> => {
      for (const step of steps.splice(0).reverse()) await Promise.allSettled([step()]);
    },
  };
};

export interface DaemonProject extends TestProject {
  socketPath: string;
}

/**
 * A temp project for the daemon: source `app` (ConfigMap `hello`, target namespace `default`), its socket in
 * the project dir (short enough for sun_path), a small quiet period, and Flux on the fake cluster when given.
 */
export const createDaemonProject = async (options: {
  registryPort: number;
  /** The fake cluster, or the real one (test/support/real-cluster). */
  cluster?: Pick<FakeCluster, 'kubeconfigPath'> & { contextName?: string };
  config?: Record<string, unknown>;
}): Promise<DaemonProject> => {
  const { cluster } = options;
  const project = await createTestProject({
    registryPort: options.registryPort,
    source: { targetNamespace: 'default' },
    config: {
      ...(cluster
        ? {
            gitOpsEngine: 'Flux',
            cluster: {
              kubeconfig: cluster.kubeconfigPath,
              ...(cluster.contextName ? { context: cluster.contextName } : {}),
            },
          }
        : {}),
      socket: { path: 'daemon.sock' },
      fluxInterval: '10m',
      flux: { reconcileTimeout: '20s' },
      watch: { quietPeriod: '100ms' },
      ...options.config,
    },
  });
  return { ...project, socketPath: join(project.dir, 'daemon.sock') };
};
