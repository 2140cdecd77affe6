import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import type { RegistrySettings } from './settings.js';

/** Files of the process runtime under `<state dir>/registry/<name>`. */
export interface ProcessPaths {
  dir: string;
  config: string;
  pidFile: string;
  logFile: string;
  dataDir: string;
}

export const processPaths = (settings: RegistrySettings): ProcessPaths => ({
  dir: settings.stateDir,
  config: join(settings.stateDir, 'config.yml'),
  pidFile: join(settings.stateDir, 'registry.pid'),
  logFile: join(settings.stateDir, 'registry.log'),
  dataDir: settings.dataPath ?? join(settings.stateDir, 'data'),
});

/**
 * distribution's config: loopback only, deletes enabled, and no in-memory blob descriptor cache, so a garbage
 * collection needs no restart to be seen.
 */
export const writeProcessConfig = async (paths: ProcessPaths, port: number): Promise<void> => {
  const config = {
    version: 0.1,
    log: { level: 'info', fields: { service: 'registry' } },
    storage: { filesystem: { rootdirectory: paths.dataDir }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}` },
  };
  await writeFile(paths.config, stringify(config), { mode: 0o600 });
};

const WrittenConfig = z.object({
  storage: z.object({ filesystem: z.object({ rootdirectory: z.string() }) }),
  http: z.object({ addr: z.string() }),
});

/** What the running process was started with, to compare against the config (`port 5001 ≠ 5000`). */
export const processDifferences = async (paths: ProcessPaths, port: number): Promise<string[]> => {
  let written;
  try {
    written = WrittenConfig.parse(parse(await readFile(paths.config, 'utf8')));
  } catch {
    return [];
  }
  const differences: string[] = [];
  const runningPort = written.http.addr.split(':').pop();
  if (runningPort !== String(port)) differences.push(`port ${runningPort ?? 'unknown'} ≠ ${port}`);
  if (written.storage.filesystem.rootdirectory !== paths.dataDir) {
    differences.push(`data path ${written.storage.filesystem.rootdirectory} ≠ ${paths.dataDir}`);
  }
  return differences;
};

/** The pid in a pid or lock file's text, or undefined when it holds anything else. */
export const parsePid = (text: string): number | undefined => {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : undefined;
};

export const readPid = async (pidFile: string): Promise<number | undefined> => {
  try {
    return parsePid(await readFile(pidFile, 'utf8'));
  } catch {
    return undefined;
  }
};

/** How {@link isAlive} looks at a process; injectable so each race outcome has a test. */
export interface ProcessProbe {
  /** `kill(pid, 0)`: throws ESRCH when there is no such process (a zombie still counts as one). */
  signal0: (pid: number) => void;
  readStat: (pid: number) => Promise<string>;
  /** Whether this system has /proc at all (not on macOS). */
  hasProc: () => Promise<boolean>;
}

const realProbe: ProcessProbe = {
  signal0: (pid) => process.kill(pid, 0),
  readStat: (pid) => readFile(`/proc/${pid}/stat`, 'utf8'),
  hasProc: () =>
    readFile('/proc/self/stat', 'utf8').then(
      () => true,
      () => false,
    ),
};

/**
 * Whether `pid` is a live process. A zombie counts as dead: in a container whose init does not reap, a registry
 * started by an earlier CLI run lingers as one after it exits.
 */
export const isAlive = async (pid: number, probe: ProcessProbe = realProbe): Promise<boolean> => {
  try {
    probe.signal0(pid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = await probe.readStat(pid);
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (error) {
    // ENOENT with /proc present: reaped between kill(0) and the read, so gone (a parent reaps its child at any
    // moment). Without /proc at all (macOS), or unreadable, trust kill(0).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return !(await probe.hasProc());
    return true;
  }
};

/** The pid of the live registry process these paths belong to, or undefined (a stale pid file is ignored). */
export const liveRegistryPid = async (paths: ProcessPaths): Promise<number | undefined> => {
  const pid = await readPid(paths.pidFile);
  return pid !== undefined && (await isAlive(pid)) && (await isOurProcess(pid, paths.config))
    ? pid
    : undefined;
};

/** Guards against pid reuse: the process must be serving our config file (when /proc can tell). */
export const isOurProcess = async (pid: number, configPath: string): Promise<boolean> => {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.includes(configPath);
  } catch {
    return true;
  }
};

export const readLogTail = async (logFile: string, lines = 10): Promise<string> => {
  try {
    return (await readFile(logFile, 'utf8')).trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
};
