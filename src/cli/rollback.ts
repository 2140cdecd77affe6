import type { Command } from 'commander';
import { isKsailError, KsailError } from '../errors.js';
import type { RollbackResult } from '../publish/rollback.js';
import { printJson, println, type CommandRegistrar } from './context.js';
import { registryClientFor, selectSources } from './sources.js';

/**
 * `ksail-fluxd rollback SOURCE [VERSION] [--direct] [--json]`: moves the source's OCIRepository back to VERSION
 * (default: the version before the one the cluster runs), reconciles and waits for Flux's verdict. Through the
 * daemon when one runs (so it knows the source is rolled back and leaves the tag until the next real save);
 * otherwise directly. Both run src/publish/rollback.ts. Its modules load inside the action (issue #10).
 */
export const registerRollbackCommand: CommandRegistrar = (program, context) => {
  program
    .command('rollback')
    .description("move a source back to an older version in the cluster and wait for Flux's verdict")
    .argument('<source>', 'source name from the config')
    .argument('[version]', 'version to go back to (default: the one before what the cluster runs)')
    .option('--json', 'print JSON')
    .option('--direct', 'roll back from this process even when a daemon runs')
    .action(
      async (
        name: string,
        version: string | undefined,
        options: { json?: boolean; direct?: boolean },
        command: Command,
      ) => {
        const config = await context.config(command);
        const { assertFluxEnabled } = await import('../flux/preflight.js');
        assertFluxEnabled(config);
        const [source] = selectSources(config, [name]);
        if (!source) return;
        let result: RollbackResult | undefined;
        if (!options.direct) {
          const [{ createControlClient }, { resolveSocketPath }] = await Promise.all([
            import('../daemon/control/control-client.js'),
            import('../daemon/control/socket-path.js'),
          ]);
          try {
            result = await createControlClient(resolveSocketPath(config, context.env)).rollback(
              source.name,
              version === undefined ? {} : { version },
            );
          } catch (error) {
            if (!isKsailError(error, 'daemon-not-running')) throw error;
          }
        }
        if (!result) {
          const logger = context.logger(config);
          const [{ kubeAdapterFromConfig }, { fluxPreflight }, tokensModule, { rollbackSource }, versions] =
            await Promise.all([
              import('../flux/create-kube-adapter.js'),
              import('../flux/preflight.js'),
              import('../flux/requested-at.js'),
              import('../publish/rollback.js'),
              import('../registry/versions.js'),
            ]);
          const adapter = kubeAdapterFromConfig(config, context.env, logger, context.clock);
          try {
            await fluxPreflight(adapter, config);
            const client = await registryClientFor(config, context, logger);
            result = await rollbackSource({
              source,
              version,
              namespace: config.flux.namespace,
              adapter,
              versions: () => versions.listVersions(client, source.repository),
              clock: context.clock,
              logger,
              tokens: tokensModule.createRequestedAtTokens({ now: () => context.clock.now() }),
              timeoutMs: config.flux.reconcileTimeoutMs,
            });
          } finally {
            adapter.close();
          }
        }
        if (options.json) printJson(context, result);
        else println(context, formatRollback(result));
        if (result.outcome === 'failed') {
          throw new KsailError(
            'reconcile-failed',
            `${result.source} was rolled back to ${result.to}, but Flux did not apply it; see above`,
          );
        }
      },
    );
};

export const formatRollback = (result: RollbackResult): string => {
  const moved = `${result.source}  rolled back ${result.from ?? '-'} → ${result.to}`;
  const after =
    result.to === result.latest
      ? ' (the newest version: no longer rolled back)'
      : ` (newest ${result.latest}; the next real save moves it on)`;
  return result.outcome === 'succeeded'
    ? `${moved}  reconciled  ${result.revision ?? ''}${after}`
    : `${moved}  failed: ${result.error ?? 'unknown error'}`;
};
