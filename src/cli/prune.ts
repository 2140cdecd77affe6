import type { Command } from 'commander';
import { KsailError } from '../errors.js';
import type { PruneResult } from '../registry/prune.js';
import { printJson, println, type CommandRegistrar } from './context.js';
import { runtimeDepsFor } from './registry.js';
import { formatBytes, plural, registryClientFor, selectSources } from './sources.js';

const parseKeep = (value: string): number => {
  const keep = Number(value);
  if (!Number.isInteger(keep) || keep < 1) {
    throw new KsailError('usage', `--keep must be a whole number of at least 1, not "${value}"`);
  }
  return keep;
};

/**
 * `ksail-fluxd prune SOURCE [--keep N]` (FR-018): deletes all but the N highest versions of the source's repository
 * (never the highest; non-semver tags untouched), then collects garbage to reclaim blob storage.
 */
export const registerPruneCommand: CommandRegistrar = (program, context) => {
  program
    .command('prune')
    .description('delete old versions of a source from the registry and reclaim their storage')
    .argument('<source>', 'source name')
    .option('--keep <n>', "versions to keep (default: the source's keep setting, 20)", parseKeep)
    .option('--json', 'print JSON')
    .action(async (name: string, options: { keep?: number; json?: boolean }, command: Command) => {
      const config = await context.config(command);
      const [source] = selectSources(config, [name]);
      if (!source) throw new KsailError('usage', 'name one source to prune');
      const deps = runtimeDepsFor(context, config);
      // Registry runtimes and the Kubernetes client load for this command only (issue #10).
      const [{ versionsInUse }, { pruneRepository }, { createRuntime, selectRuntime }, { registryLockDir }] =
        await Promise.all([
          import('../flux/in-use.js'),
          import('../registry/prune.js'),
          import('../registry/runtime/select.js'),
          import('../registry/runtime/settings.js'),
        ]);
      const runtime = config.registryEnabled
        ? await selectRuntime(config, deps)
        : createRuntime(config, deps, 'external');
      try {
        const state = await runtime.inspect();
        if (state.registry.status !== 'Running') {
          throw new KsailError(
            'registry-unreachable',
            `registry ${state.registry.name} is not running (${state.registry.status}${state.registry.lastError ? `: ${state.registry.lastError}` : ''}); start it with \`ksail-fluxd registry up\`, then prune again`,
          );
        }
        const inUse = await versionsInUse({ config, source, env: context.env, logger: deps.logger });
        if (!inUse.known && !options.json) {
          println(
            context,
            `${source.name}  versions in use by the cluster unknown (${inUse.reason}); keeping the highest`,
          );
        }
        const result = await pruneRepository({
          repository: source.repository,
          keep: options.keep ?? source.keep,
          inUse: inUse.known ? inUse.versions : [],
          client: await registryClientFor(config, context, deps.logger),
          runtime,
          lockDir: registryLockDir(context.env, config.registry.name),
          clock: context.clock,
          logger: deps.logger,
        });
        if (options.json) printJson(context, { source: source.name, inUse, ...result });
        else for (const line of formatPrune(source.name, result)) println(context, line);
      } finally {
        await runtime.close?.();
      }
    });
};

export const formatPrune = (source: string, result: PruneResult): string[] => {
  const deletedTags = result.delete.flatMap((d) => d.tags);
  const reclaimed =
    result.bytesReclaimed !== undefined ? `, reclaimed ${formatBytes(result.bytesReclaimed)}` : '';
  const lines = [
    `${source}  kept ${plural(result.kept.length, 'version')}${result.kept[0] ? ` (highest ${result.kept[0]})` : ''}, deleted ${plural(result.delete.length, 'manifest')}${deletedTags.length ? ` (${deletedTags.join(', ')})` : ''}${reclaimed}`,
  ];
  for (const skip of result.skipped) lines.push(`  skipped ${skip.tag}: ${skip.reason}`);
  if (result.gcNote) lines.push(`  ${result.gcNote}`);
  return lines;
};
