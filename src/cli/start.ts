import { Option, type Command } from 'commander';
import type { ResolvedConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { CommandRegistrar } from './context.js';
import { packageVersion } from './program.js';

/** The dashboard's port for `start --ui` without ui.port. */
export const DEFAULT_UI_PORT = 8470;

/** After a clean shutdown, a leftover handle (a keep-alive socket) must not keep the process alive. */
const EXIT_GRACE_MS = 3000;

/**
 * `ksail-fluxd start [--mode automatic|manual]`: runs the daemon in the foreground (systemd runs it the same way)
 * until SIGTERM or SIGINT; SIGHUP reloads the config.
 */
export const registerStartCommand: CommandRegistrar = (program, context) => {
  program
    .command('start')
    .description('run the daemon: watch the sources, push every change, patch the tag and reconcile Flux')
    .addOption(
      new Option(
        '--mode <mode>',
        'reconcile automatically after each push, or only when asked (default: flux.mode)',
      ).choices(['automatic', 'manual']),
    )
    .option(
      '--ui [port]',
      `serve the dashboard on 127.0.0.1 (port: ui.port, else ${DEFAULT_UI_PORT}; 0 picks a free one)`,
    )
    .action(async (options: { mode?: 'automatic' | 'manual'; ui?: true | string }, command: Command) => {
      const overrides = {
        ...(options.mode ? { 'flux.mode': options.mode === 'manual' ? 'Manual' : 'Automatic' } : {}),
        ...(typeof options.ui === 'string' ? { 'ui.port': options.ui } : {}),
      };
      // `--ui` alone: the configured port, else the default one.
      const withUi = (loaded: ResolvedConfig): ResolvedConfig =>
        options.ui === true && loaded.ui.port === undefined
          ? { ...loaded, ui: { port: DEFAULT_UI_PORT } }
          : loaded;
      const config = withUi(await context.config(command, overrides));
      const logger = context.logger(config);
      // The daemon's modules (watcher, Kubernetes client, registry runtimes) load only for `start` (issue #10).
      const [{ createDaemon }, { realDaemonDeps }, { handleSignals }] = await Promise.all([
        import('../daemon/create-daemon.js'),
        import('../daemon/real-deps.js'),
        import('../daemon/signals.js'),
      ]);
      const onRejection = (reason: unknown): void => {
        // Every handler ends in a catch; this is the net under a missed one, so the daemon keeps running.
        logger.error('unhandled promise rejection', { error: describeError(reason) });
      };
      process.on('unhandledRejection', onRejection);
      const daemon = createDaemon(
        realDaemonDeps({
          config,
          logger,
          clock: context.clock,
          env: context.env,
          version: packageVersion(),
          // Not context.config: that one is cached for the run, and a reload must read the file again.
          reloadConfig: async () => withUi(await context.loadConfig(command, overrides)),
        }),
      );
      let stop = (_signal: NodeJS.Signals): void => undefined;
      const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
      const removeSignals = handleSignals(process, {
        stop: (signal) => stop(signal),
        force: (signal) => {
          logger.warn('second stop signal, exiting without waiting', { signal });
          process.exit(1);
        },
        reload: () => {
          logger.info('reloading config', { signal: 'SIGHUP' });
          void daemon.reload();
        },
      });
      try {
        const first = await Promise.race([daemon.start().then(() => undefined), stopped]);
        const signal = first ?? (await stopped);
        logger.info('stopping', { signal });
      } finally {
        await daemon.close();
        removeSignals();
        process.off('unhandledRejection', onRejection);
        setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_GRACE_MS).unref();
      }
    });
};
