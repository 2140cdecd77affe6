import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isAlive, type ProcessProbe } from '../../../src/registry/runtime/process-files.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

/** A probe whose kill(0), /proc/<pid>/stat and /proc presence give the outcome under test. */
const probe = (
  kill: 'ok' | 'ESRCH' | 'EPERM',
  /** The stat line, or the errno its read fails with. */
  stat: string,
  hasProc = true,
): ProcessProbe => ({
  signal0: () => {
    if (kill !== 'ok') throw errno(kill);
  },
  readStat: () =>
    stat === 'ENOENT' || stat === 'EACCES' ? Promise.reject(errno(stat)) : Promise.resolve(stat),
  hasProc: () => Promise.resolve(hasProc),
});

describe('isAlive', () => {
  it.each([
    { what: 'a running process', probe: probe('ok', '42 (registry) S 1 42'), alive: true },
    { what: 'a process of another user', probe: probe('EPERM', '42 (registry) S 1 42'), alive: true },
    { what: 'no such process', probe: probe('ESRCH', 'ENOENT'), alive: false },
    { what: 'a zombie', probe: probe('ok', '42 (registry) Z 1 42'), alive: false },
    { what: 'a zombie whose name holds ") S "', probe: probe('ok', '42 (a) S (b) Z 1 42'), alive: false },
    // The race CI hit: the parent reaped it between kill(0) and the read of /proc.
    { what: 'a process reaped after kill(0)', probe: probe('ok', 'ENOENT'), alive: false },
    { what: 'a process on a system without /proc', probe: probe('ok', 'ENOENT', false), alive: true },
    { what: 'a process whose stat cannot be read', probe: probe('ok', 'EACCES'), alive: true },
  ])('$what → alive: $alive', async ({ probe: p, alive }) => {
    expect(await isAlive(42, p)).toBe(alive);
  });

  it('sees this process alive and an exited child dead', async () => {
    expect(await isAlive(process.pid)).toBe(true);
    const child = execa(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await child;
    expect(await isAlive(pid)).toBe(false);
  });
});
