import type { ResolvedConfig } from '../../config/schema.js';
import { describeError, KsailError } from '../../errors.js';
import type { OCIRegistry } from '../../model/oci-registry.js';
import { createRuntime, selectRuntime } from './select.js';
import type { RegistryRuntime, RuntimeDeps } from './types.js';

/** The registry of `runtime` when it answers, else brought up. */
export const ensureRuntime = async (runtime: RegistryRuntime): Promise<OCIRegistry> => {
  const state = await runtime.inspect();
  return state.ready ? state.registry : runtime.up();
};

/**
 * Makes sure the configured registry runs and answers, and returns it (issue #3). Runs before every push, so the
 * common case costs the runtime selection (a pid file read, a Docker ping) and one inspect with one GET /v2/;
 * only when that finds nothing ready does it run `up`. The runtime it selects is closed again.
 */
export const ensureRegistry = async (config: ResolvedConfig, deps: RuntimeDeps): Promise<OCIRegistry> => {
  const plain: RuntimeDeps = { ...deps, supervise: false };
  if (!config.registryEnabled) return ensureExternal(config, plain);
  const runtime = await selectRuntime(config, plain);
  try {
    return await ensureRuntime(runtime);
  } finally {
    await runtime.close?.();
  }
};

export interface SupervisedRegistry {
  /** ensureRegistry, through the kept process runtime once there is one. */
  ensure(config: ResolvedConfig): Promise<OCIRegistry>;
  /** Stops the supervision (the registry keeps running). */
  close(): Promise<void>;
}

/**
 * For the daemon: ensureRegistry, and a registry that runs as a process (no Docker) is kept supervised for the
 * daemon's life, restarted within about a second when it dies (issue #3). Once kept, ensuring goes through that
 * handle, so the supervisor and a re-ensure share one restart. Docker restarts its container itself, and an
 * external registry is its owner's.
 */
export const superviseRegistry = (deps: RuntimeDeps): SupervisedRegistry => {
  let kept: RegistryRuntime | undefined;
  return {
    ensure: async (config) => {
      if (kept) return ensureRuntime(kept);
      if (!config.registryEnabled) return ensureExternal(config, deps);
      const runtime = await selectRuntime(config, { ...deps, supervise: true });
      if (runtime.kind !== 'process') {
        try {
          return await ensureRuntime(runtime);
        } finally {
          await runtime.close?.();
        }
      }
      // up() adopts a running process and starts watching it.
      const registry = await runtime.up();
      kept = runtime;
      return registry;
    },
    close: async () => {
      await kept?.close?.().catch((error: unknown) => {
        deps.logger.warn('registry supervision did not stop cleanly', { error: describeError(error) });
      });
    },
  };
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
