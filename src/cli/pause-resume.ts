import type { Command } from 'commander';
import { printJson, println, type CommandRegistrar } from './context.js';
import { controlClientFor } from './status.js';

/**
 * `ksail-fluxd pause` / `resume`: stop and restart the daemon's pushes without stopping the daemon (e.g. during a
 * large refactor). Changes made while paused are picked up on resume.
 */
export const registerPauseResumeCommands: CommandRegistrar = (program, context) => {
  program
    .command('pause')
    .description('pause the running daemon: it keeps watching but pushes nothing until "ksail-fluxd resume"')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = await controlClientFor(command, context);
      const result = await client.pause();
      if (options.json) printJson(context, result);
      else println(context, 'ksail-fluxd daemon paused; run "ksail-fluxd resume" to push again');
    });
  program
    .command('resume')
    .description('resume a paused daemon: pushes what changed meanwhile')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = await controlClientFor(command, context);
      const result = await client.resume();
      if (options.json) printJson(context, result);
      else println(context, 'ksail-fluxd daemon resumed');
    });
};
