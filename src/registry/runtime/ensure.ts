import type { ResolvedConfig } from '../../config/schema.js';
import { describeError, isKsailError, KsailError } from '../../errors.js';
import type { OCIRegistry } from '../../model/oci-registry.js';
import {
  autoMayUseProcess,
  binaryRuntime,
  createRuntime,
  dockerNeededError,
  liveProcessRuntime,
  selectRuntime,
} from './select.js';
import type { RegistryRuntime, RuntimeDeps } from './types.js';

/**
 * Makes sure the configured registry runs and answers, and returns it (issue #3). Runs before every push, so the
 * common case costs one container inspect (or pid file read) and one GET /v2/, in parallel; only when that finds
 * nothing ready does it run `up`, and only when Docker does not answer under `auto` does it look for a registry
 * binary instead.
 *
 * The runtime it creates is closed again; the daemon keeps a supervised one with `keepProcessRegistry`.
 */
export const ensureRegistry = async (config: ResolvedConfig, deps: RuntimeDeps): Promise<OCIRegistry> => {
  const plain: RuntimeDeps = { ...deps, supervise: false };
  if (!config.registryEnabled) return ensureExternal(config, plain);
  const wanted = config.registry.runtime;
  const live = await liveProcessRuntime(config, plain);
  if (live) return ensureWith(live);
  if (wanted === 'auto' || wanted === 'docker') {
    try {
      return await ensureWith(createRuntime(config, plain, 'docker'));
    } catch (error) {
      // No engine: `auto` falls back to a registry binary; an explicit `docker` reports it as it is.
      if (!isKsailError(error, 'runtime-unavailable') || wanted === 'docker') throw error;
      if (!autoMayUseProcess(config))
        throw dockerNeededError(config, describeError(error.cause ?? error), error);
      plain.logger.debug('docker engine not answering; looking for a registry binary', {
        error: describeError(error),
      });
    }
    // The pid file was read and Docker tried above: selectRuntime would only do both again.
    return ensureWith(await binaryRuntime(config, plain));
  }
  return ensureWith(await selectRuntime(config, plain));
};

/** The registry of `runtime` when it answers, else brought up. */
export const ensureRuntime = async (runtime: RegistryRuntime): Promise<OCIRegistry> => {
  const state = await runtime.inspect();
  return state.ready ? state.registry : runtime.up();
};

const ensureWith = async (runtime: RegistryRuntime): Promise<OCIRegistry> => {
  try {
    return await ensureRuntime(runtime);
  } finally {
    await runtime.close?.();
  }
};

/**
 * For the daemon, after ensureRegistry: when the registry runs as a process (no Docker), a handle that supervises
 * it, restarting it within about a second when it dies (issue #3), until `close()`. Undefined for Docker and
 * external registries, which Docker's restart policy or their owner keep running.
 */
export const keepProcessRegistry = async (
  config: ResolvedConfig,
  deps: RuntimeDeps,
): Promise<RegistryRuntime | undefined> => {
  if (!config.registryEnabled) return undefined;
  const supervised: RuntimeDeps = { ...deps, supervise: true };
  const runtime =
    config.registry.runtime === 'process'
      ? await selectRuntime(config, supervised)
      : await liveProcessRuntime(config, supervised);
  if (runtime?.kind !== 'process') return undefined;
  await runtime.up(); // adopts the running process and starts watching it
  return runtime;
};

/** `registryEnabled: false`: ksail-fluxd runs nothing, but a registry must still answer on registryPort. */
const ensureExternal = async (config: ResolvedConfig, deps: RuntimeDeps): Promise<OCIRegistry> => {
  const state = await createRuntime(config, deps, 'external').inspect();
  if (state.ready) return state.registry;
  throw new KsailError(
    'registry-unreachable',
    `registryEnabled is false, so ksail-fluxd does not run a registry, and nothing answers at localhost:${config.registryPort}; start your registry there, or set registryEnabled: true`,
  );
};
