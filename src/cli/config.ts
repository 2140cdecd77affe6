import type { Command } from 'commander';
import type { ConfigOrigin } from '../config/effective.js';
import type { KsailCluster } from '../config/ksail-yaml.js';
import { printJson, println, type CommandRegistrar, type GlobalOptions } from './context.js';
import { loadOptionsOf } from './program.js';

interface ConfigLine {
  key: string;
  value: unknown;
  origin: ConfigOrigin;
}

/** What `config` shows of a ksail.yaml: never the registry's credentials. */
const ksailView = (cluster: KsailCluster): Record<string, unknown> => ({
  file: cluster.file,
  shape: cluster.shape,
  name: cluster.name,
  distribution: cluster.distribution,
  gitOpsEngine: cluster.gitOpsEngine,
  registry: cluster.registry?.ref.display,
  registryContainer: cluster.registry?.containerName,
  network: cluster.network,
});

const valueAt = (root: Record<string, unknown>, path: string): unknown =>
  path
    .split(/\.|\[(\d+)\]/)
    .filter((part) => part !== undefined && part !== '')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], root);

/**
 * `ksail-fluxd config [--json]`: the effective config and where each value came from (default, ksail.yaml, our
 * file, environment, flag), so a user beside KSail can see what was derived.
 */
export const registerConfigCommand: CommandRegistrar = (program, context) => {
  program
    .command('config')
    .description('print the effective config and the source of each value')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      // Loaded on first use, like the config of every command (issue #10).
      const { loadWithOrigins, printable } = await import('../config/effective.js');
      const { config, ksail, origins } = await loadWithOrigins(loadOptionsOf(global, context));
      const values = printable(config);
      const lines: ConfigLine[] = [...origins].map(([key, origin]) => ({
        key,
        value: valueAt(values, key),
        origin,
      }));
      if (options.json) {
        printJson(context, { file: config.file, ksail: ksail && ksailView(ksail), values: lines });
        return;
      }
      if (config.file) println(context, `config file: ${config.file}`);
      else if (ksail) {
        println(
          context,
          `no ksail-fluxd.yaml; values from ${ksail.file} (${ksail.shape}${ksail.name ? `, cluster ${ksail.name}` : ''}${ksail.registry ? `, registry ${ksail.registry.ref.display} in container ${ksail.registry.containerName}` : ''})`,
        );
      } else println(context, 'no ksail-fluxd.yaml or ksail.yaml: defaults only');
      const width = Math.max(...lines.map((line) => line.key.length), 3);
      const shown = lines.map((line) => ({ ...line, text: JSON.stringify(line.value) ?? '-' }));
      const valueWidth = Math.min(Math.max(...shown.map((line) => line.text.length), 5), 40);
      println(context, `${'KEY'.padEnd(width)}  ${'VALUE'.padEnd(valueWidth)}  SOURCE`);
      for (const line of shown) {
        println(context, `${line.key.padEnd(width)}  ${line.text.padEnd(valueWidth)}  ${line.origin}`);
      }
    });
};
