import type { Command } from 'commander';
import { printJson, println, type CommandRegistrar } from './context.js';
import { registryClientFor, selectSources, shortDigest } from './sources.js';

/** `ksail-fluxd versions SOURCE [--json]`: versions newest first, with created time and digest. */
export const registerVersionsCommand: CommandRegistrar = (program, context) => {
  program
    .command('versions')
    .description('list the versions of a source in the registry, newest first')
    .argument('<source>', 'source name from the config')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const config = await context.config(command);
      const [source] = selectSources(config, [name]);
      if (!source) return;
      const logger = context.logger(config);
      const [client, { listVersions }] = await Promise.all([
        registryClientFor(config, context, logger),
        import('../registry/versions.js'),
      ]);
      const versions = await listVersions(client, source.repository);
      if (options.json) {
        printJson(context, { source: source.name, repository: source.repository, versions });
        return;
      }
      if (versions.length === 0) {
        println(
          context,
          `${source.name}: no versions in ${source.repository} yet; run "ksail-fluxd push ${source.name}"`,
        );
        return;
      }
      for (const version of versions) {
        println(
          context,
          `${version.version.padEnd(12)} ${(version.created ?? '-').padEnd(20)} ${shortDigest(version.digest)}`,
        );
      }
    });
};
