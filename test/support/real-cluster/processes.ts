import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { isAlive } from '../../../src/registry/runtime/process-files.js';

/**
 * The real cluster's processes: started from argument arrays, logged to files, recorded in a pid file under the
 * system temp dir, and stopped by PID. A run that crashed leaves its pid file behind; the next run stops what it
 * lists (removeStaleClusters), as the shared test registry does for containers.
 */
export interface ClusterProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process exits, with its exit code or signal. */
  exited: Promise<string>;
}

const PID_FILE_PREFIX = 'ksail-fluxd-real-cluster-';

/** What recordPids writes: the cluster's directory and its processes. */
const PidRecord = z.object({ dir: z.string(), pids: z.array(z.number().int().positive()) });

const pidFile = (owner: number): string => join(tmpdir(), `${PID_FILE_PREFIX}${owner}.json`);

export const startProcess = (
  name: string,
  command: string,
  args: readonly string[],
  options: { dir: string; env?: NodeJS.ProcessEnv },
): ClusterProcess => {
  const logFile = join(options.dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd: options.dir,
    env: { PATH: process.env.PATH, HOME: options.dir, ...options.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code ?? 'unknown'}`));
    child.once('error', (error) => resolve(error.message));
  });
  if (child.pid === undefined) throw new Error(`${name} (${command}) could not be started`);
  return { name, pid: child.pid, logFile, exited };
};

/** The last lines of a process's log, for an error that says why it did not come up. */
export const logTail = async (process: ClusterProcess, lines = 15): Promise<string> => {
  const text = await readFile(process.logFile, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
};

export const recordPids = async (processes: readonly ClusterProcess[], dir: string): Promise<void> => {
  await writeFile(pidFile(process.pid), JSON.stringify({ dir, pids: processes.map((p) => p.pid) }));
};

const waitGone = async (pid: number, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !(await isAlive(pid));
};

/** SIGTERM, then SIGKILL after `graceMs`; resolves once every pid is gone. */
export const stopPids = async (pids: readonly number[], graceMs = 5000): Promise<void> => {
  const signal = (pid: number, name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  pids.forEach((pid) => signal(pid, 'SIGTERM'));
  await Promise.all(
    pids.map(async (pid) => {
      if (await waitGone(pid, graceMs)) return;
      signal(pid, 'SIGKILL');
      await waitGone(pid, 5000);
    }),
  );
};

export const forgetPids = async (): Promise<void> => {
  await rm(pidFile(process.pid), { force: true });
};

/** Stops the processes of real clusters whose test run is gone, and removes their directories. */
export const removeStaleClusters = async (): Promise<void> => {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  // The clusters' own directories share the prefix: only the .json pid files are records.
  for (const name of names.filter((entry) => entry.startsWith(PID_FILE_PREFIX) && entry.endsWith('.json'))) {
    const owner = Number(name.slice(PID_FILE_PREFIX.length, -'.json'.length));
    if (Number.isInteger(owner) && owner > 0 && (await isAlive(owner))) continue;
    const file = join(tmpdir(), name);
    const recorded = PidRecord.safeParse(
      await readFile(file, 'utf8')
        .then((text): unknown => JSON.parse(text))
        .catch(() => undefined),
    );
    const { dir, pids } = recorded.success ? recorded.data : { dir: undefined, pids: [] };
    // A pid may have been reused since the crash: only a process still working in the cluster's directory is ours.
    const ours: number[] = [];
    for (const pid of pids) {
      if (dir && (await readlink(`/proc/${pid}/cwd`).catch(() => '')) === dir) ours.push(pid);
    }
    await stopPids(ours, 1000);
    if (dir) await rm(dir, { recursive: true, force: true });
    await rm(file, { force: true });
  }
};
