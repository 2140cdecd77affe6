import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Clock } from '../../clock.js';
import { backoffDelay } from '../../retry.js';
import { describeError, KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OCIRegistry, RegistryStorage } from '../../model/oci-registry.js';
import {
  directoryBytes,
  gcFailedError,
  portInUse,
  portTakenError,
  probeRegistry,
  probeUrl,
  waitForHealthy,
} from './probe.js';
import {
  isAlive,
  liveRegistryPid,
  processDifferences,
  processPaths,
  readLogTail,
  writeProcessConfig,
} from './process-files.js';
import { processHolder } from './port-process.js';
import { registryEntity, type RegistrySettings } from './settings.js';
import type { DownOptions, DownResult, RegistryRuntime, RegistryState, UpOptions } from './types.js';

export interface ProcessRuntimeDeps {
  /** Absolute path of `docker-registry` or `registry`. */
  binary: string;
  logger: Logger;
  clock: Clock;
  fetch?: typeof fetch;
  /** Long-running daemon: watch the pid and restart the registry with backoff when it dies. */
  supervise?: boolean;
  healthTimeoutMs?: number;
}

const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
/** A registry that stayed up this long was healthy; the next crash restarts without accumulated backoff. */
const STABLE_MS = 30_000;

/**
 * The registry as a detached `docker-registry serve` process, for machines without Docker (issue #3). CLI runs are
 * short-lived, so the process outlives them: its pid is in `<state dir>/registry/<name>/registry.pid`.
 */
export const createProcessRuntime = (
  settings: RegistrySettings,
  deps: ProcessRuntimeDeps,
): RegistryRuntime => {
  const { logger, clock } = deps;
  const paths = processPaths(settings);
  const healthTimeoutMs = deps.healthTimeoutMs ?? 15_000;
  const storage: RegistryStorage = { kind: 'path', dataPath: paths.dataDir };
  // A host process is not on any Docker network: pods reach it only through the workstation endpoint.
  const entity = (status: OCIRegistry['status'], lastError?: string): OCIRegistry =>
    registryEntity(settings, storage, status, undefined, lastError);
  let supervision: { stop: AbortController; done: Promise<void> } | undefined;

  const livePid = (): Promise<number | undefined> => liveRegistryPid(paths);

  const inspect = async (): Promise<RegistryState> => {
    const [pid, healthy] = await Promise.all([
      livePid(),
      probeRegistry(settings.port, { fetch: deps.fetch, clock: deps.clock }),
    ]);
    const base = { runtime: 'process' as const, logFile: paths.logFile };
    if (pid === undefined)
      return { ...base, registry: entity('NotProvisioned'), differences: [], ready: false };
    const differences = await processDifferences(paths, settings.port);
    let registry: OCIRegistry;
    if (differences.length > 0) {
      registry = entity(
        'Error',
        `registry process ${pid} differs from the config: ${differences.join(', ')}; run \`ksail-fluxd registry up --recreate\``,
      );
    } else if (healthy) {
      registry = entity('Running');
    } else {
      const started = (await stat(paths.pidFile)).mtimeMs;
      registry =
        Date.now() - started < healthTimeoutMs
          ? entity('Provisioning')
          : entity(
              'Error',
              `registry process ${pid} runs but ${probeUrl(settings.port)} does not answer; see ${paths.logFile}`,
            );
    }
    return { ...base, registry, pid, differences, ready: registry.status === 'Running' };
  };

  const spawn = async (): Promise<number> => {
    await mkdir(paths.dataDir, { recursive: true });
    await writeProcessConfig(paths, settings.port);
    const size = await stat(paths.logFile).then(
      (s) => s.size,
      () => 0,
    );
    if (size > LOG_ROTATE_BYTES) await rename(paths.logFile, `${paths.logFile}.1`);
    const log = await open(paths.logFile, 'a');
    try {
      // Detached with its output in a file and unref'd: the registry keeps running after the CLI exits.
      // execa's types list only fd literals (1-9); any open fd works at runtime.
      const fd = log.fd as 3;
      const child = execa(deps.binary, ['serve', paths.config], {
        detached: true,
        cleanup: false,
        reject: false,
        stdin: 'ignore',
        stdout: fd,
        stderr: fd,
      });
      child.unref();
      child.catch((error: unknown) =>
        logger.debug('registry process ended', { error: describeError(error) }),
      );
      if (child.pid === undefined)
        throw new KsailError('runtime-unavailable', `could not start ${deps.binary}; see ${paths.logFile}`);
      await writeFile(paths.pidFile, `${child.pid}\n`);
      logger.info('registry process started', { pid: child.pid, port: settings.port, binary: deps.binary });
      return child.pid;
    } finally {
      await log.close();
    }
  };

  const waitHealthy = (pid: number): Promise<void> =>
    waitForHealthy(settings.port, {
      clock,
      fetch: deps.fetch,
      timeoutMs: healthTimeoutMs,
      what: `registry process ${pid}`,
      hint: `see ${paths.logFile}`,
      check: async () => {
        if (await isAlive(pid)) return;
        const tail = await readLogTail(paths.logFile, 5);
        throw new KsailError(
          'registry-unreachable',
          `registry process ${pid} exited while starting${tail ? `: ${tail}` : ''}; see ${paths.logFile}`,
        );
      },
    });

  let starting: Promise<number> | undefined;
  /**
   * Starts a new registry process. The supervisor and `up()` (the daemon re-ensuring after a failed push) may both
   * find it dead at once: they share one start, instead of racing for the port and the pid file.
   */
  const startFresh = (): Promise<number> =>
    (starting ??= (async () => {
      if (await portInUse(settings.port)) {
        throw portTakenError(settings.port, await processHolder(settings.port));
      }
      const pid = await spawn();
      await waitHealthy(pid);
      return pid;
    })().finally(() => (starting = undefined)));

  /** Resolves once `pid` is gone, or false when it is still alive at the deadline. */
  const waitGone = async (pid: number, ms: number): Promise<boolean> => {
    const deadline = clock.now() + ms;
    for (;;) {
      if (!(await isAlive(pid))) return true;
      if (clock.now() >= deadline) return false;
      await clock.sleep(50);
    }
  };

  /** SIGTERM, then SIGKILL after 10 s; returns only when the process is gone, so its port is free again. */
  const stopPid = async (pid: number): Promise<void> => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    if (await waitGone(pid, 10_000)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      // ESRCH: it exited between the check and the kill, which is what we wanted.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    if (!(await waitGone(pid, 5_000))) {
      throw new KsailError(
        'runtime-unavailable',
        `registry process ${pid} is still alive after SIGKILL; check it with \`ps -p ${pid}\` and stop it by hand`,
      );
    }
  };

  const supervise = (): void => {
    if (!deps.supervise || supervision) return;
    const stop = new AbortController();
    const loop = async (): Promise<void> => {
      let attempt = 0;
      let startedAt = clock.now();
      while (!stop.signal.aborted) {
        await clock.sleep(500, stop.signal);
        if ((await livePid()) !== undefined) continue;
        if (clock.now() - startedAt > STABLE_MS) attempt = 0;
        const delay = backoffDelay({ baseMs: 500, maxMs: 30_000 }, attempt);
        logger.warn('registry process died; restarting', { attempt, delayMs: delay, log: paths.logFile });
        await clock.sleep(delay, stop.signal);
        attempt += 1;
        try {
          startedAt = clock.now();
          await startFresh();
        } catch (error) {
          logger.error('registry restart failed', { error: describeError(error) });
        }
      }
    };
    const done = loop().catch((error: unknown) => {
      if (!stop.signal.aborted) logger.error('registry supervision stopped', { error: describeError(error) });
    });
    supervision = { stop, done };
  };

  const stopSupervision = async (): Promise<void> => {
    const current = supervision;
    supervision = undefined;
    if (!current) return;
    current.stop.abort(new KsailError('aborted', 'registry supervision stopped'));
    await current.done;
  };

  const up = async (options: UpOptions = {}): Promise<OCIRegistry> => {
    await mkdir(paths.dir, { recursive: true });
    const state = await inspect();
    if (state.pid !== undefined) {
      if (state.differences.length > 0 && !options.recreate) {
        throw new KsailError(
          'registry-mismatch',
          `registry process ${state.pid} differs from the config: ${state.differences.join(', ')}. Pass --recreate to restart it with the config (the data is kept), or change the config to match it`,
          { details: { differences: state.differences } },
        );
      }
      const status = state.registry.status;
      if (!options.recreate && (status === 'Running' || status === 'Provisioning')) {
        if (status === 'Provisioning') await waitHealthy(state.pid);
        supervise();
        return entity('Running');
      }
      // --recreate, or alive but not answering for too long: start over.
      await stopSupervision();
      await stopPid(state.pid);
    }
    await rm(paths.pidFile, { force: true });
    await startFresh();
    supervise();
    return entity('Running');
  };

  const down = async (options: DownOptions = {}): Promise<DownResult> => {
    await stopSupervision();
    const pid = await livePid();
    if (pid !== undefined) {
      await stopPid(pid);
      logger.info('registry process stopped', { pid });
    }
    await rm(paths.pidFile, { force: true });
    if (options.deleteVolume) await rm(paths.dataDir, { recursive: true, force: true });
    const stopped = pid !== undefined ? `stopped registry process ${pid}` : 'no registry process was running';
    return {
      removed: pid !== undefined,
      volumeDeleted: options.deleteVolume === true,
      message: options.deleteVolume
        ? `${stopped}; deleted data directory ${paths.dataDir} and every artifact in it`
        : `${stopped}; data directory ${paths.dataDir} and its artifacts stay (pass --delete-volume to delete them)`,
    };
  };

  const garbageCollect = async (): Promise<{ output: string }> => {
    const result = await execa(deps.binary, ['garbage-collect', '--delete-untagged', paths.config], {
      reject: false,
      all: true,
    });
    const output = result.all ?? '';
    if (result.exitCode !== 0) throw gcFailedError(`with ${deps.binary}`, result.exitCode, output);
    return { output };
  };

  const storageBytes = async (): Promise<number | undefined> => {
    try {
      return await directoryBytes(paths.dataDir);
    } catch {
      return undefined;
    }
  };

  return { kind: 'process', inspect, up, down, garbageCollect, storageBytes, close: stopSupervision };
};
