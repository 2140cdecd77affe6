import type { ResolvedConfig } from '../config/schema.js';
import { isKsailError, KsailError } from '../errors.js';
import type { OCIRegistry } from '../model/oci-registry.js';
import { createRuntime, liveProcessRuntime, selectRuntime } from './runtime.js';
import type { RegistryRuntime, RuntimeDeps } from './runtime-types.js';

/**
 * Makes sure the configured registry runs and answers, and returns it (issue #3). Runs before every push, so the
 * common case costs one container inspect (or pid file read) and one GET /v2/, in parallel; only when that finds
 * nothing ready does it select a runtime (Docker ping) and run `up`.
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
    const docker = createRuntime(config, plain, 'docker');
    try {
      const state = await docker.inspect();
      if (state.ready) return state.registry;
      return await docker.up();
    } catch (error) {
      // No engine: `auto` falls back to a registry binary; an explicit `docker` reports it below.
      if (!isKsailError(error, 'runtime-unavailable') || wanted === 'docker') throw error;
    }
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
