import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { systemClock, type Clock } from '../clock.js';
import type { LoadOptions } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { describeError, exitCodeFor, KsailError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { CliIo, CommandContext, CommandRegistrar, GlobalOptions } from './context.js';

export const packageVersion = (): string => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
};

/** Global options that take a value, as registered below; `subcommandOf` must skip their values. */
const GLOBAL_VALUE_OPTIONS = [
  {
    flags: '-c, --config <file>',
    description: 'config file (default: ./ksail-fluxd.yaml, or KSAIL_FLUXD_CONFIG)',
  },
  { flags: '--log-level <level>', description: 'error, warn, info or debug' },
  { flags: '--log-format <format>', description: 'auto, json or text (auto: text on a TTY, JSON otherwise)' },
] as const;

/** The subcommand an argument list runs, found before the program (and the commands' modules) is loaded. */
export const subcommandOf = (argv: readonly string[]): string | undefined => {
  const takesValue = new Set(
    GLOBAL_VALUE_OPTIONS.flatMap(({ flags }) => flags.split(/[ ,]+/).filter((f) => f.startsWith('-'))),
  );
  return argv.find((arg, index) => !arg.startsWith('-') && !takesValue.has(argv[index - 1] ?? ''));
};

/** What the loader gets from the global flags; `ksail-fluxd config` builds the same. */
export const loadOptionsOf = (
  global: GlobalOptions,
  run: Pick<RunOptions, 'cwd' | 'env'>,
  overrides: Record<string, unknown> = {},
): LoadOptions => ({
  file: global.config,
  cwd: run.cwd,
  env: run.env,
  overrides: { 'log.level': global.logLevel, 'log.format': global.logFormat, ...overrides },
});

export interface RunOptions {
  argv: readonly string[];
  io: CliIo;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock?: Clock;
  registrars: readonly CommandRegistrar[];
}

/**
 * Builds the program, runs one command and returns the exit code: 0 ok, 1 operation failed, 2 usage or config
 * error, 3 daemon not running. Errors print their message (which says what to do) on stderr.
 */
export const runCli = async (options: RunOptions): Promise<number> => {
  const { io } = options;
  let logger: Logger | undefined;
  const configs = new Map<string, Promise<ResolvedConfig>>();
  const flags = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();
  const load = async (command: Command, overrides: Record<string, unknown> = {}): Promise<ResolvedConfig> => {
    const global = flags(command);
    // Loaded on first use: the YAML parser and the schema are not needed for --help.
    const { loadEffectiveConfig } = await import('../config/effective.js');
    return loadEffectiveConfig(loadOptionsOf(global, options, overrides));
  };
  const context: CommandContext = {
    io,
    env: options.env,
    cwd: options.cwd,
    clock: options.clock ?? systemClock,
    config: (command, overrides = {}) => {
      const key = JSON.stringify([flags(command), overrides]);
      let loaded = configs.get(key);
      if (!loaded) configs.set(key, (loaded = load(command, overrides)));
      return loaded;
    },
    loadConfig: load,
    logger: (config) => {
      logger ??= createLogger({
        level: config?.log.level ?? 'info',
        format: config?.log.format ?? 'auto',
        isTty: io.isTty,
        stream: io.stderr,
      });
      return logger;
    },
  };

  const program = new Command('ksail-fluxd')
    .description(
      'Turns every save of your Kubernetes manifests into a Flux OCI artifact and a reconciled cluster',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  for (const { flags, description } of GLOBAL_VALUE_OPTIONS) program.option(flags, description);
  // The program's options only before the subcommand: otherwise commander takes `push --version 2.0.0` for the
  // program's --version, prints it and pushes nothing (issue 9, §1.2). The global flags are added to every
  // subcommand instead, so `push --config x` still works; an option no command knows is a usage error.
  program.enablePositionalOptions();
  for (const register of options.registrars) register(program, context);
  const withGlobals = (command: Command): void => {
    command.exitOverride();
    for (const { flags, description } of GLOBAL_VALUE_OPTIONS) {
      command.option(flags, description);
    }
    command.commands.forEach(withGlobals);
  };
  program.commands.forEach(withGlobals);

  try {
    await program.parseAsync([...options.argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    io.stderr.write(`error: ${describeError(error)}\n`);
    if (!(error instanceof KsailError)) {
      io.stderr.write('This is a bug in ksail-fluxd; please report it with the command you ran.\n');
    }
    return exitCodeFor(error);
  } finally {
    if (logger) await flushLogger(logger);
  }
};

/** Ends the logger and waits until everything it buffered is written. */
export const flushLogger = (logger: Logger): Promise<void> => logger.flush();
