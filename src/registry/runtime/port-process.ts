import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A process that listens on a TCP port: its pid and command line, for the port-taken error. */
export interface PortProcess {
  pid: number;
  command: string;
}

const LISTEN = '0A';

/** Socket inodes listening on the port, from /proc/net/tcp and tcp6 (any address: each one conflicts). */
const listeningInodes = async (port: number, proc: string): Promise<Set<string>> => {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(join(proc, 'net', table), 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== LISTEN) continue;
      if (Number.parseInt(local.split(':')[1] ?? '', 16) === port && fields[9] && fields[9] !== '0') {
        inodes.add(fields[9]);
      }
    }
  }
  return inodes;
};

/**
 * The process that listens on `port`, found the way `ss -ltnp` finds it: the socket's inode in /proc/net/tcp, then
 * the process whose file descriptors hold `socket:[inode]`. Linux only; undefined elsewhere, or when the holder
 * belongs to another user (its /proc/<pid>/fd cannot be read) or runs in another network namespace.
 */
export const findPortProcess = async (port: number, proc = '/proc'): Promise<PortProcess | undefined> => {
  const inodes = await listeningInodes(port, proc);
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
  for (const pid of pids) {
    const fdDir = join(proc, pid, 'fd');
    const fds = await readdir(fdDir).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(join(fdDir, fd)).catch(() => '');
      if (!wanted.has(target)) continue;
      const cmdline = await readFile(join(proc, pid, 'cmdline'), 'utf8').catch(() => '');
      const command = cmdline.split('\0').filter(Boolean).join(' ');
      return { pid: Number(pid), command: command || `pid ${pid}` };
    }
  }
  return undefined;
};

/** The port-taken holder for a process found on the port, or undefined when /proc does not tell. */
export const processHolder = async (port: number): Promise<{ process: PortProcess } | undefined> => {
  const found = await findPortProcess(port);
  return found ? { process: found } : undefined;
};
