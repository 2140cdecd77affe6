import type { Command } from 'commander';
import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { ApplyResult } from '../flux/apply.js';
import type { Logger } from '../logger.js';
import { printJson, println, type CommandContext, type CommandRegistrar } from './context.js';
import { registryClientFor, selectSources } from './sources.js';

interface ApplyOptions {
  json?: boolean;
  force?: boolean;
}

/**
 * `ksail-fluxd apply [SOURCE...] [--force] [--json]`: ensures the OCIRepository and Kustomization of each source
 * (server-side apply) and prints one line per object: created, configured, unchanged or skipped.
 */
export const registerApplyCommand: CommandRegistrar = (program, context) => {
  program
    .command('apply')
    .description("create or update the sources' Flux OCIRepository and Kustomization objects")
    .argument('[sources...]', 'source names (default: all)')
    .option('--force', 'take over fields that another field manager (kubectl edit, another tool) changed')
    .option('--json', 'print JSON')
    .action(async (names: string[], options: ApplyOptions, command: Command) => {
      const config = await context.config(command);
      const logger = context.logger(config);
      const results = await applyCommand(config, selectSources(config, names), options, context, logger);
      if (options.json) {
        printJson(context, { results });
        return;
      }
      for (const result of results) println(context, formatApplyResult(result));
    });
};

const applyCommand = async (
  config: ResolvedConfig,
  sources: ResolvedSource[],
  options: ApplyOptions,
  context: CommandContext,
  logger: Logger,
): Promise<ApplyResult[]> => {
  // The Kubernetes client loads for the commands that talk to the cluster only (issue #10).
  const [{ applyResources }, { kubeAdapterFromConfig }, { fluxSettingsOf }, { fluxPreflight }] =
    await Promise.all([
      import('../flux/apply.js'),
      import('../flux/create-kube-adapter.js'),
      import('../flux/generate.js'),
      import('../flux/preflight.js'),
    ]);
  const adapter = kubeAdapterFromConfig(config, context.env, logger);
  try {
    await fluxPreflight(adapter, config);
    return await applyResources(adapter, {
      sources,
      settings: fluxSettingsOf(config),
      versions: await latestVersions(config, sources, context, logger),
      force: options.force ?? false,
      clock: context.clock,
      logger,
    });
  } finally {
    adapter.close();
  }
};

/**
 * The highest version of each source in the registry; used only for OCIRepositories that do not exist yet. An
 * unreachable registry is not fatal: existing objects keep their tags and new ones are skipped.
 */
const latestVersions = async (
  config: ResolvedConfig,
  sources: ResolvedSource[],
  context: CommandContext,
  logger: Logger,
): Promise<Record<string, string | undefined>> => {
  const [client, { highestVersion }] = await Promise.all([
    registryClientFor(config, context, logger),
    import('../model/oci-artifact.js'),
  ]);
  // In parallel: each unreachable listing may take the client's whole unreachable budget.
  const entries = await Promise.all(
    sources.map(async (source): Promise<[string, string | undefined]> => {
      try {
        return [source.name, highestVersion(await client.listTags(source.repository))];
      } catch (error) {
        logger.warn('cannot list versions in the registry', {
          source: source.name,
          error: describeError(error),
        });
        return [source.name, undefined];
      }
    }),
  );
  return Object.fromEntries(entries);
};

export const formatApplyResult = (result: ApplyResult): string =>
  `${result.kind} ${result.namespace}/${result.name} ${result.action}${result.reason ? `: ${result.reason}` : ''}`;
