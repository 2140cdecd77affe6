import { isAbsolute, join, resolve } from 'node:path';
import type { ResolvedConfig } from '../../config/schema.js';
import {
  inClusterEndpoint,
  registryEndpoint,
  type OCIRegistry,
  type RegistryStatus,
  type RegistryStorage,
} from '../../model/oci-registry.js';
import { stateDir } from '../../paths.js';

export const MANAGED_LABEL = 'io.ksail-fluxd.managed';
export const REGISTRY_LABEL = 'io.ksail-fluxd.registry';
/** KSail's label on the registry container it creates (../shared/reference/ksail.md). */
export const KSAIL_REGISTRY_LABEL = 'io.ksail.registry';

/**
 * Whether ksail-fluxd created a container or volume: only then may it remove it. Anything else found under the
 * configured name (KSail's `<cluster>-local-registry`, a registry the user started) is adopted: used as it is,
 * never recreated, stopped, removed, nor its volume deleted.
 */
export const createdByUs = (labels: Record<string, string> | null | undefined): boolean =>
  labels?.[MANAGED_LABEL] === 'true';
/** Where the registry stores data inside the container. */
export const CONTAINER_DATA_PATH = '/var/lib/registry';
export const CONTAINER_PORT = '5000/tcp';

/** The registry part of the config, with defaults applied and paths made absolute. */
export interface RegistrySettings {
  name: string;
  image: string;
  port: number;
  runtime: ResolvedConfig['registry']['runtime'];
  volumeName: string;
  /** Absolute; set only when the config sets `registry.dataPath`. */
  dataPath: string | undefined;
  network: string | undefined;
  /** `<state dir>/registry/<name>`: pid file, process config, log and locks. */
  stateDir: string;
}

export const registrySettings = (config: ResolvedConfig, env: NodeJS.ProcessEnv): RegistrySettings => {
  const { name, image, volumeName, dataPath, runtime } = config.registry;
  return {
    name,
    image,
    port: config.registryPort,
    runtime,
    // `local-registry-data` for the default name, and a separate volume for every other registry name.
    volumeName: volumeName ?? `${name}-data`,
    dataPath:
      dataPath === undefined
        ? undefined
        : isAbsolute(dataPath)
          ? dataPath
          : resolve(config.baseDir, dataPath),
    network: config.cluster.network,
    stateDir: registryStateDir(env, name),
  };
};

export const registryStateDir = (env: NodeJS.ProcessEnv, name: string): string =>
  join(stateDir(env), 'registry', name);

/** Where the push/GC locks of a registry live (see lock.ts); publishers and `prune` must agree on it. */
export const registryLockDir = (env: NodeJS.ProcessEnv, name: string): string =>
  join(registryStateDir(env, name), 'locks');

/** Where a Docker or external registry keeps its data: the configured directory, else the named volume. */
export const registryStorage = (settings: RegistrySettings): RegistryStorage =>
  settings.dataPath
    ? { kind: 'path', dataPath: settings.dataPath }
    : { kind: 'volume', volumeName: settings.volumeName };

/** The OCIRegistry entity for these settings in a given status. */
export const registryEntity = (
  settings: RegistrySettings,
  storage: RegistryStorage,
  status: RegistryStatus,
  /** The cluster network the registry is on, if any: it decides the in-cluster endpoint. */
  network: string | undefined,
  lastError?: string,
): OCIRegistry => ({
  name: settings.name,
  endpoint: registryEndpoint(settings.port),
  inClusterEndpoint: inClusterEndpoint({ containerName: settings.name, port: settings.port, network }),
  port: settings.port,
  storage,
  status,
  ...(status === 'Error' && lastError ? { lastError } : {}),
});

export const labelsFor = (
  settings: RegistrySettings,
  extra: Record<string, string> = {},
): Record<string, string> => ({
  ...extra,
  [MANAGED_LABEL]: 'true',
  [REGISTRY_LABEL]: settings.name,
});
