#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { runCli, subcommandOf } from './program.js';

const argv = process.argv.slice(2);
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
