#!/usr/bin/env node
import { commands } from './commands.js';
import { runCli } from './program.js';

/** The `ksail-fluxd` executable. */
process.exitCode = await runCli({
  argv: process.argv.slice(2),
  io: { stdout: process.stdout, stderr: process.stderr, isTty: Boolean(process.stdout.isTTY) },
  env: process.env,
  cwd: process.cwd(),
  registrars: commands,
});
