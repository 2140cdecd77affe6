import type { Command } from 'commander';
import { KsailError } from '../errors.js';
import type { CommandRegistrar } from './context.js';
import { controlClientFor } from './status.js';

interface EventsOptions {
  source?: string[];
}

/**
 * `ksail-fluxd events`: the daemon's events as NDJSON on stdout until Ctrl-C (or until the reader goes away,
 * e.g. `| head`). The daemon stopping ends the command with exit 3.
 */
export const registerEventsCommand: CommandRegistrar = (program, context) => {
  program
    .command('events')
    .description('stream the daemon events (changes, builds, pushes, reconciliations) as NDJSON until Ctrl-C')
    .option('--source <name...>', 'only events of these sources (events without a source are always shown)')
    .action(async (options: EventsOptions, command: Command) => {
      const client = await controlClientFor(command, context);
      const only = options.source?.length ? new Set(options.source) : undefined;
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // A closed pipe (`ksail-fluxd events | head`) is a normal way to stop reading.
      context.io.stdout.once('error', stop);
      try {
        await client.events((event) => {
          if (only && event.source !== undefined && !only.has(event.source)) return;
          context.io.stdout.write(`${JSON.stringify(event)}\n`);
        }, controller.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        context.io.stdout.off('error', stop);
      }
      if (!controller.signal.aborted) {
        throw new KsailError(
          'daemon-not-running',
          `the ksail-fluxd daemon on ${client.socketPath} ended the event stream (it stopped); ` +
            'start it again with "ksail-fluxd start"',
          { details: { socketPath: client.socketPath } },
        );
      }
    });
};
