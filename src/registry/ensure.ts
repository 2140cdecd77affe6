import type { ResolvedConfig } from '../config/schema.js';
import { describeError, isKsailError, KsailError } from '../errors.js';
import type { OCIRegistry } from '../model/oci-registry.js';
import { binaryRuntime, createRuntime, liveProcessRuntime, selectRuntime } from './runtime.js';
import type { RegistryRuntime, RuntimeDeps } from './runtime-types.js';

/**
 * Makes sure the configured registry runs and answers, and returns it (issue #3). Runs before every push, so the
 * common case costs one container inspect (or pid file read) and one GET /v2/, in parallel; only when that finds
 * nothing ready does it run `up`, and only when Docker does not answer under `auto` does it look for a registry
 * binary instead.
 *
 * The runtime it creates is closed again: a daemon that wants the process registry supervised calls
 * `selectRuntime(config, { ...deps, supervise: true })` and `up()` itself, and keeps the handle.
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
      plain.logger.debug('docker engine not answering; looking for a registry binary', {
        error: describeError(error),
      });
    }
    // The pid file was read and Docker tried above: selectRuntime would only do both again.
    return ensureWith(await binaryRuntime(config, plain));
  }
  return ensureWith(await selectRuntime(config, plain));
};

const ensureWith = async (runtime: RegistryRuntime): Promise<OCIRegistry> => {
  try {
    const state = await runtime.inspect();
    return state.ready ? state.registry : await runtime.up();
  } finally {
    await runtime.close?.();
  }
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
