import { PassThrough } from 'node:stream';
import { commands } from '../../src/cli/commands.js';
import { runCli, type RunOptions } from '../../src/cli/program.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Runs the real CLI program in-process (same code path as the binary) and captures its output. `registrars`
 * (default: every command) narrows the program to the commands a test is about.
 */
export const runKsail = async (
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; registrars?: RunOptions['registrars'] } = {},
): Promise<CliResult> => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const started = performance.now();
  const code = await runCli({
    argv,
    io: { stdout, stderr, isTty: false },
    env: { HOME: process.env.HOME, PATH: process.env.PATH, KSAIL_FLUXD_LOG_LEVEL: 'warn', ...options.env },
    cwd: options.cwd ?? process.cwd(),
    registrars: options.registrars ?? commands,
  });
  return {
    code,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    elapsedMs: performance.now() - started,
  };
};
