import { createServer } from 'node:net';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';

/**
 * The registry binds 127.0.0.1 only, so probes use that address rather than `localhost`, which may resolve to ::1
 * first.
 */
export const probeUrl = (port: number): string => `http://127.0.0.1:${port}/v2/`;

/** Whether GET /v2/ answers 200: the data model's "healthy". One request, bounded by `timeoutMs`. */
export const probeRegistry = async (
  port: number,
  options: { fetch?: typeof fetch; timeoutMs?: number; clock?: Clock } = {},
): Promise<boolean> => {
  const doFetch = options.fetch ?? fetch;
  const timeout = (options.clock ?? systemClock).timeout(options.timeoutMs ?? 1000);
  try {
    const response = await doFetch(probeUrl(port), { signal: timeout.signal });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  } finally {
    timeout.cancel();
  }
};

/**
 * Polls /v2/ until it answers or `timeoutMs` passes. `check` runs between polls and throws when waiting is
 * pointless (the container exited, the process died), so failures surface at once instead of at the deadline.
 */
export const waitForHealthy = async (
  port: number,
  options: {
    clock: Clock;
    timeoutMs: number;
    fetch?: typeof fetch;
    what: string;
    check?: () => Promise<void>;
    hint?: string;
  },
): Promise<void> => {
  const deadline = options.clock.now() + options.timeoutMs;
  for (;;) {
    if (await probeRegistry(port, { fetch: options.fetch, clock: options.clock })) return;
    await options.check?.();
    if (options.clock.now() >= deadline) {
      throw new KsailError(
        'registry-unreachable',
        `${options.what} started but ${probeUrl(port)} did not answer within ${Math.round(options.timeoutMs / 1000)} s; ${options.hint ?? 'check its logs, then run `ksail-fluxd registry up` again'}`,
        { details: { port } },
      );
    }
    await options.clock.sleep(100);
  }
};

/** Whether something already listens on 127.0.0.1:<port> (our own bind attempt fails with EADDRINUSE). */
export const portInUse = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(false)));
  });

/** Sum of file sizes under `dir` (0 when it does not exist); symlinks are not followed. */
export const directoryBytes = async (dir: string): Promise<number> => {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
};

/** Who holds a port, when we can tell: a container Docker lists, or a ksail-fluxd registry process. */
export type PortHolder =
  { container: string } | { pid: number } | { process: { pid: number; command: string } } | undefined;

const COMMAND_LIMIT = 120;

export const portTakenError = (port: number, holder: PortHolder, cause?: unknown): KsailError => {
  const [who, stop] =
    holder === undefined
      ? // Another user's process (or another network namespace): /proc does not show it to us.
        [`another process (\`ss -ltnp 'sport = :${port}'\` as root shows which)`, 'stop it']
      : 'container' in holder
        ? [`container ${holder.container}`, `stop that container (docker stop ${holder.container})`]
        : 'process' in holder
          ? [
              `process ${holder.process.pid} (${
                holder.process.command.length > COMMAND_LIMIT
                  ? `${holder.process.command.slice(0, COMMAND_LIMIT - 1)}…`
                  : holder.process.command
              })`,
              `stop it (kill ${holder.process.pid})`,
            ]
          : [
              `the ksail-fluxd registry process ${holder.pid} (registry.runtime: process)`,
              // `registry down` cannot reach it while cluster.network is set (process is then refused), so kill works too.
              `stop it (\`ksail-fluxd registry down\` with registry.runtime: process, or \`kill ${holder.pid}\`)`,
            ];
  return new KsailError(
    'port-taken',
    `port ${port} on 127.0.0.1 is already taken by ${who}; ${stop}, or set registryPort in the config to a free port`,
    { cause, details: { port, ...(holder && 'process' in holder ? holder.process : holder) } },
  );
};

/**
 * `registry garbage-collect` failed (`where`: "in container x", "with /usr/bin/registry"). It runs after the
 * manifests are deleted, so the message says those deletions stand.
 */
export const gcFailedError = (
  where: string,
  exitCode: number | null | undefined,
  output: string,
): KsailError =>
  new KsailError(
    'gc-failed',
    `garbage collection ${where} failed (exit code ${exitCode ?? 'unknown'}): ${output.trim().split('\n').slice(-5).join(' ')}; the deleted manifests stay deleted and their blobs stay on disk until a collection succeeds, which the next \`ksail-fluxd prune\` that deletes a version runs (fix the cause shown above first)`,
    { details: { exitCode } },
  );
