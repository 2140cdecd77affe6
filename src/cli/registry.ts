import type { Command } from 'commander';
import type { ResolvedConfig } from '../config/schema.js';
import type { selectRuntime as SelectRuntime } from '../registry/runtime/select.js';
import type { RuntimeDeps } from '../registry/runtime/types.js';
import { printJson, println, type CommandContext, type CommandRegistrar } from './context.js';

export const runtimeDepsFor = (context: CommandContext, config: ResolvedConfig): RuntimeDeps => ({
  logger: context.logger(config),
  clock: context.clock,
  env: context.env,
});

/** The registry runtimes (Docker's client, execa) load only when a registry command runs (issue #10). */
const selectRuntime: typeof SelectRuntime = async (...args) =>
  (await import('../registry/runtime/select.js')).selectRuntime(...args);

/** `ksail-fluxd registry status|up|down`: the local registry's lifecycle (issue #3). */
export const registerRegistryCommand: CommandRegistrar = (program, context) => {
  const registry = program.command('registry').description('show, start or stop the local OCI registry');

  registry
    .command('status')
    .description('show the registry state: status, endpoints, runtime, container or pid, storage, last error')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const config = await context.config(command);
      const { formatRegistryStatus, registryStatus } = await import('../registry/runtime/status.js');
      const report = await registryStatus(config, runtimeDepsFor(context, config));
      if (options.json) printJson(context, report);
      else for (const line of formatRegistryStatus(report)) println(context, line);
    });

  registry
    .command('up')
    .description('start the registry (idempotent: adopts a matching one, starts a stopped one)')
    .option('--recreate', 'replace an existing container that differs from the config (the volume is kept)')
    .option('--json', 'print JSON')
    .action(async (options: { recreate?: boolean; json?: boolean }, command: Command) => {
      const config = await context.config(command);
      const deps = runtimeDepsFor(context, config);
      const runtime = await selectRuntime(config, deps);
      try {
        const result = await runtime.up({
          recreate: options.recreate === true,
          // Pull progress is for people watching; logs get one line per event only at debug level.
          onProgress: (line) =>
            context.io.isTty
              ? context.io.stderr.write(`${line}\n`)
              : deps.logger.debug('image pull', { progress: line }),
        });
        if (options.json) printJson(context, { ...result, runtime: runtime.kind });
        else {
          println(
            context,
            `registry ${result.name} ${result.status} at ${result.endpoint} (in-cluster ${result.inClusterEndpoint}, ${runtime.kind})`,
          );
        }
      } finally {
        await runtime.close?.();
      }
    });

  registry
    .command('down')
    .description('stop and remove the registry; its volume and artifacts stay unless --delete-volume')
    .option('--delete-volume', 'also delete the volume or data directory, with every artifact in it')
    .option('--json', 'print JSON')
    .action(async (options: { deleteVolume?: boolean; json?: boolean }, command: Command) => {
      const config = await context.config(command);
      const runtime = await selectRuntime(config, runtimeDepsFor(context, config));
      try {
        const result = await runtime.down({ deleteVolume: options.deleteVolume === true });
        if (options.json) printJson(context, { ...result, runtime: runtime.kind });
        else println(context, result.message);
      } finally {
        await runtime.close?.();
      }
    });
};
