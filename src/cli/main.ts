#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

const argv = process.argv.slice(2);
// `--version` alone is answered before commander and the commands' modules load (issue #10: a whole process at
// node + a few ms, rather than + 0.6 s). Anything else goes through the program, which prints the same.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { runCli, subcommandOf } = await import('./program.js');
  // The daemon idles for hours: memory over speed (issue #5: 10 sources idle in < 150 MB RSS; about 170 MB
  // without). Not for one-shot commands: it makes a large push ~20 % slower (issue #2's ratio). Set before the
  // commands (and @kubernetes/client-node) are imported, so that everything they load is sized with it.
  if (subcommandOf(argv) === 'start') setFlagsFromString('--optimize-for-size');
  const { commands } = await import('./commands.js');

  /** The `ksail-fluxd` executable. */
  process.exitCode = await runCli({
    argv,
    io: { stdout: process.stdout, stderr: process.stderr, isTty: Boolean(process.stdout.isTTY) },
    env: process.env,
    cwd: process.cwd(),
    registrars: commands,
  });
}
