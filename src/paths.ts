import { homedir } from 'node:os';
import { join } from 'node:path';

/** State directory: `$XDG_STATE_HOME/ksail-fluxd`, else `~/.local/state/ksail-fluxd` (issue #3). */
export const stateDir = (env: NodeJS.ProcessEnv): string =>
  join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'ksail-fluxd');

/**
 * Default control socket: `$XDG_RUNTIME_DIR/ksail-fluxd.sock`, else `<state dir>/run/ksail-fluxd.sock` (issue #5).
 */
export const defaultSocketPath = (env: NodeJS.ProcessEnv): string =>
  env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'ksail-fluxd.sock')
    : join(stateDir(env), 'run', 'ksail-fluxd.sock');
