import type { Command } from 'commander';
import type { Clock } from '../clock.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';

/** Options every command accepts (registered on the root program). */
export interface GlobalOptions {
  config?: string;
  logLevel?: string;
  logFormat?: string;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stdout is a terminal (decides readable vs JSON logs, progress output). */
  isTty: boolean;
}

/**
 * What a command gets: IO, environment and lazy access to the config and logger. Commands throw KsailError on
 * failure; `main` prints the message and maps the code to the exit status (0 ok, 1 failed, 2 usage/config, 3 no
 * daemon).
 */
export interface CommandContext {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  /** Loads and validates the config (file, then environment, then the global flags). Cached per run. */
  config(command: Command, overrides?: Record<string, unknown>): Promise<ResolvedConfig>;
  /** The same, read from disk again on every call (a daemon's SIGHUP reload). */
  loadConfig(command: Command, overrides?: Record<string, unknown>): Promise<ResolvedConfig>;
  /** The logger for this run, built from the config's log settings and the flags. */
  logger(config?: ResolvedConfig): Logger;
}

/** One file per command: each exports a registrar that adds its command to the program. */
export type CommandRegistrar = (program: Command, context: CommandContext) => void;

/** Writes a line to stdout. */
export const println = (context: CommandContext, line = ''): void => {
  context.io.stdout.write(`${line}\n`);
};

/** Writes JSON to stdout, one document. */
export const printJson = (context: CommandContext, value: unknown): void => {
  context.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};
