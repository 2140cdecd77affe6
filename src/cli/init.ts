import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KsailError } from '../errors.js';
import { println, type CommandRegistrar, type GlobalOptions } from './context.js';

/** The JSON Schema shipped with this installation (the package's config/ directory; see json-schema.ts). */
const schemaFile = (): string =>
  fileURLToPath(new URL('../../config/ksail-fluxd.schema.json', import.meta.url));

/**
 * `ksail-fluxd init [--force]`: writes a commented ksail-fluxd.yaml (or the --config file) for the working
 * directory: from ksail.yaml when there is one, else one source per directory of manifests found. Never
 * overwrites a file without --force.
 */
export const registerInitCommand: CommandRegistrar = (program, context) => {
  program
    .command('init')
    .description('write a commented ksail-fluxd.yaml for the manifests here (or from ksail.yaml)')
    .option('--force', 'overwrite an existing file')
    .action(async (options: { force?: boolean }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const [{ findManifestDirs, initConfigText }, { readKsailYaml }, { DEFAULT_CONFIG_FILE }] =
        await Promise.all([
          import('../config/init-config.js'),
          import('../config/ksail-yaml.js'),
          import('../config/load.js'),
        ]);
      const target = resolve(context.cwd, global.config ?? DEFAULT_CONFIG_FILE);
      const root = dirname(target);
      const ksail = await readKsailYaml(root);
      const dirs = ksail ? [] : await findManifestDirs(root);
      const schema = relative(root, schemaFile()).split('\\').join('/');
      const { text, sources } = initConfigText({ root, schema, ksail, dirs });
      try {
        await writeFile(target, text, { flag: options.force ? 'w' : 'wx', mode: 0o644 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        throw new KsailError('usage', `${target} exists already; pass --force to overwrite it`, {
          details: { file: target },
        });
      }
      const from = ksail ? ` from ${ksail.file}` : '';
      println(
        context,
        sources.length > 0
          ? `wrote ${target}${from} with the source${sources.length === 1 ? '' : 's'} ${sources.join(', ')}; check it with "ksail-fluxd config"`
          : `wrote ${target}; no directory of manifests was found here, so add your sources to it`,
      );
    });
};
