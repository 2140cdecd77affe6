// Idle benchmark (issues #5, #10): with 10 sources of 1,000 files each pushed and patched, the daemon must cost
// (almost) nothing while nobody saves: CPU from /proc/<pid>/stat, RSS from /proc/<pid>/status. With
// BENCH_BASELINE_CLI the same runs with that build first, for today's figures in the same run.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIN, startDaemon } from './daemon-process.mjs';
import { figure } from './figures.mjs';
import { writeSource } from './fixtures.mjs';

const SOURCES = 10;
const FILES = 1000;
const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const CPU_TARGET = 1;
const RSS_TARGET_MB = 100;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const verdict = (ok) => (ok ? 'target met' : 'target MISSED');

const clockTicks = () => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
};

/** utime + stime in clock ticks (fields 14 and 15; the command name in parentheses may hold spaces). */
const cpuTicks = async (pid) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

const memoryKb = async (pid) => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
};

export const benchIdle = async ({ work, port, cluster }) => {
  const baseline = process.env.BENCH_BASELINE_CLI;
  if (baseline) await benchIdleWith({ work, port, cluster, cli: 'today', main: baseline });
  await benchIdleWith({ work, port, cluster, cli: 'new', main: MAIN });
};

const benchIdleWith = async ({ work, port, cluster, cli, main }) => {
  const dir = join(work, `idle-${cli}`);
  const sources = [];
  for (let i = 0; i < SOURCES; i++) {
    const name = `idle-${cli}-${i}`;
    const path = join(dir, name);
    // Small files: about 300 bytes each.
    await writeSource(path, FILES, FILES * 300, 100 + i);
    sources.push({ name, path });
  }
  console.log(
    `\n== idle (issues #5, #10) [${cli}]: ${SOURCES} sources x ${FILES} files, daemon settled, sampled for ${SECONDS} s ==`,
  );
  const started = performance.now();
  const daemon = await startDaemon({ dir: join(dir, 'daemon'), port, cluster, sources, main });
  try {
    // The socket answers before any source is watched or built: about the cost of the loaded modules.
    const rssAtSocket = (await memoryKb(daemon.pid)).rss;
    await daemon.settled({ timeoutMs: 180_000, quietMs: 2000 });
    const settledMs = performance.now() - started;
    const lastOf = (type) => {
      const times = daemon.events.filter((e) => e.type === type).map((e) => e.receivedAt - started);
      return times.length ? `${(Math.max(...times) / 1000).toFixed(1)} s (${times.length})` : '-';
    };
    const ticks = clockTicks();
    const eventsBefore = daemon.events.length;
    const cpu0 = await cpuTicks(daemon.pid);
    const t0 = performance.now();
    let maxRss = (await memoryKb(daemon.pid)).rss;
    const deadline = t0 + SECONDS * 1000;
    while (performance.now() < deadline) {
      await sleep(Math.min(1000, deadline - performance.now()));
      maxRss = Math.max(maxRss, (await memoryKb(daemon.pid)).rss);
    }
    const cpu1 = await cpuTicks(daemon.pid);
    const elapsedS = (performance.now() - t0) / 1000;
    const { hwm } = await memoryKb(daemon.pid);
    const cpuPercent = ((cpu1 - cpu0) / ticks / elapsedS) * 100;
    const rssMb = maxRss / 1024;
    const idleEvents = daemon.events.slice(eventsBefore);
    const section = `idle (${cli})`;
    const targets = cli === 'new';
    figure(section, 'RSS when the socket first answered', rssAtSocket / 1024, 'MB');
    figure(section, 'peak RSS since start (VmHWM)', hwm / 1024, 'MB');
    figure(section, 'idle CPU', cpuPercent, '% of one core', {
      ...(targets ? { target: `< ${CPU_TARGET} %`, met: cpuPercent < CPU_TARGET } : {}),
    });
    figure(section, 'idle RSS max', rssMb, 'MB', {
      ...(targets ? { target: `< ${RSS_TARGET_MB} MB`, met: rssMb < RSS_TARGET_MB } : {}),
    });
    figure(section, 'settled after start', settledMs / 1000, 's');
    console.log(
      `start-up (from spawn; last event, count): pushed ${lastOf('push')}, patched ${lastOf('patch')}, ` +
        `reconciled ${lastOf('reconcile-finished')}, settled ${(settledMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `RSS when the control socket first answered (modules loaded, nothing watched yet) ${(rssAtSocket / 1024).toFixed(1)} MB; ` +
        `peak since start (VmHWM) ${(hwm / 1024).toFixed(1)} MB`,
    );
    console.log(
      `idle CPU ${cpuPercent.toFixed(2)} % of one core (${cpu1 - cpu0} ticks at ${ticks}/s over ${elapsedS.toFixed(1)} s) | ` +
        `< ${CPU_TARGET} %: ${verdict(cpuPercent < CPU_TARGET)}`,
    );
    console.log(
      `idle RSS max ${rssMb.toFixed(1)} MB | < ${RSS_TARGET_MB} MB: ${verdict(rssMb < RSS_TARGET_MB)}`,
    );
    console.log(
      `daemon events while idle: ${idleEvents.length}` +
        (idleEvents.length ? ` (${[...new Set(idleEvents.map((e) => e.type))].join(', ')})` : ''),
    );
  } finally {
    const result = await daemon.close();
    if (result.code !== 0) console.log(`daemon exited with ${result.code ?? result.signal}`);
  }
};
