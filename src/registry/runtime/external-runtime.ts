import type { Clock } from '../../clock.js';
import { KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OCIRegistry } from '../../model/oci-registry.js';
import { probeRegistry, probeUrl } from './probe.js';
import { registryEntity, registryStorage, type RegistrySettings } from './settings.js';
import type { DownResult, RegistryRuntime, RegistryState } from './types.js';

/**
 * `registry.runtime: external`: someone else runs the registry on localhost:<registryPort>. ksail-fluxd only checks
 * that /v2/ answers; it cannot start, stop or garbage-collect it.
 */
export const createExternalRuntime = (
  settings: RegistrySettings,
  deps: { logger: Logger; clock: Clock; fetch?: typeof fetch },
): RegistryRuntime => {
  const storage = registryStorage(settings);
  const unreachable = `nothing answers at ${probeUrl(settings.port)}`;
  // The external registry may sit on the cluster network under the configured name, like ours would.
  const entity = (status: OCIRegistry['status'], lastError?: string): OCIRegistry =>
    registryEntity(settings, storage, status, settings.network, lastError);

  const inspect = async (): Promise<RegistryState> => {
    const healthy = await probeRegistry(settings.port, { fetch: deps.fetch, clock: deps.clock });
    const registry = healthy
      ? entity('Running')
      : entity('Error', `${unreachable}; start your registry there, or change registryPort`);
    return { runtime: 'external', registry, differences: [], ready: healthy };
  };

  const up = async (): Promise<OCIRegistry> => {
    if (await probeRegistry(settings.port, { fetch: deps.fetch, clock: deps.clock }))
      return entity('Running');
    throw new KsailError(
      'registry-unreachable',
      `registry.runtime is external, so ksail-fluxd does not start a registry, and ${unreachable}; start your registry on 127.0.0.1:${settings.port}, change registryPort to where it listens, or set registry.runtime to auto to let ksail-fluxd run one`,
      { details: { port: settings.port } },
    );
  };

  const down = (): Promise<DownResult> => {
    deps.logger.debug('registry down skipped for external runtime');
    return Promise.resolve({
      removed: false,
      volumeDeleted: false,
      message: `registry.runtime is external: ksail-fluxd did not start this registry, so it leaves it running; stop it the way you started it`,
    });
  };

  const garbageCollect = (): Promise<{ output: string }> =>
    Promise.reject(
      new KsailError(
        'unsupported',
        `registry.runtime is external: ksail-fluxd cannot collect garbage in a registry it does not run; run \`registry garbage-collect --delete-untagged <config.yml>\` on that registry yourself to reclaim the space`,
      ),
    );

  return {
    kind: 'external',
    inspect,
    up,
    down,
    garbageCollect,
    storageBytes: () => Promise.resolve(undefined),
  };
};
