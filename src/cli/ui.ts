import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import { describeError } from '../errors.js';
import { printJson, println, type CommandContext, type CommandRegistrar } from './context.js';
import { controlClientFor } from './status.js';

/** `xdg-open` on PATH, when there is a desktop to open it on (X11 or Wayland); otherwise undefined. */
export const findOpener = async (env: NodeJS.ProcessEnv): Promise<string | undefined> => {
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'xdg-open');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
};

/** Starts the browser and does not wait for it; a browser that fails to start is no failure of this command. */
const openInBrowser = (opener: string, url: string, context: CommandContext): void => {
  const child = spawn(opener, [url], { detached: true, stdio: 'ignore', env: context.env });
  child.once('error', (error) =>
    context.logger().debug('could not start the browser', { opener, error: describeError(error) }),
  );
  child.unref();
};

/**
 * `ksail-fluxd ui [--no-open] [--json]`: asks the running daemon for the dashboard's link (over the 0600 control
 * socket, the only place the token is handed out), prints it, and opens it when a browser is at hand.
 */
export const registerUiCommand: CommandRegistrar = (program, context) => {
  program
    .command('ui')
    .description("print the dashboard's link (with its token) and open it in a browser when one is at hand")
    .option('--no-open', 'only print the link')
    .option('--json', 'print {"url": ...}')
    .action(async (options: { open: boolean; json?: boolean }, command: Command) => {
      const client = await controlClientFor(command, context);
      const { url } = await client.ui();
      if (options.json) printJson(context, { url });
      else println(context, url);
      if (!options.open) return;
      const opener = await findOpener(context.env);
      if (opener) openInBrowser(opener, url, context);
    });
};
