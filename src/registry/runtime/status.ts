import type { ResolvedConfig } from '../../config/schema.js';
import { isKsailError } from '../../errors.js';
import type { RegistryStatus } from '../../model/oci-registry.js';
import { selectRuntime } from './select.js';
import { registryEntity, registrySettings, registryStorage } from './settings.js';
import type { RuntimeDeps, RuntimeKind } from './types.js';

/** What `registry status` shows, flat so that `--json` reads well. */
export interface RegistryStatusReport {
  name: string;
  status: RegistryStatus;
  runtime: RuntimeKind | 'none';
  endpoint: string;
  inClusterEndpoint: string;
  container?: string;
  containerId?: string;
  containerState?: string;
  /** The container was not created by ksail-fluxd (KSail's): used as it is, never removed. */
  adopted?: boolean;
  networks?: string[];
  pid?: number;
  logFile?: string;
  volume?: string;
  dataPath?: string;
  differences: string[];
  lastError?: string;
}

/** Inspects the configured registry without changing anything; no usable runtime is reported as an Error state. */
export const registryStatus = async (
  config: ResolvedConfig,
  deps: RuntimeDeps,
): Promise<RegistryStatusReport> => {
  let runtime;
  try {
    runtime = await selectRuntime(config, { ...deps, supervise: false });
  } catch (error) {
    if (!isKsailError(error, 'runtime-unavailable')) throw error;
    const settings = registrySettings(config, deps.env);
    const registry = registryEntity(settings, registryStorage(settings), 'Error', undefined, error.message);
    return {
      name: registry.name,
      status: registry.status,
      runtime: 'none',
      endpoint: registry.endpoint,
      inClusterEndpoint: registry.inClusterEndpoint,
      differences: [],
      lastError: error.message,
    };
  }
  try {
    const state = await runtime.inspect();
    const { registry } = state;
    return {
      name: registry.name,
      status: registry.status,
      runtime: state.runtime,
      endpoint: registry.endpoint,
      inClusterEndpoint: registry.inClusterEndpoint,
      ...(state.container
        ? {
            container: state.container.name,
            containerId: state.container.id.slice(0, 12),
            containerState: state.container.state,
            adopted: state.container.adopted,
            networks: state.container.networks,
          }
        : {}),
      ...(state.pid !== undefined ? { pid: state.pid } : {}),
      ...(state.logFile ? { logFile: state.logFile } : {}),
      ...(registry.storage.kind === 'volume'
        ? { volume: registry.storage.volumeName }
        : { dataPath: registry.storage.dataPath }),
      differences: state.differences,
      ...(registry.lastError ? { lastError: registry.lastError } : {}),
    };
  } finally {
    await runtime.close?.();
  }
};

/** `key  value` lines for a terminal. */
export const formatRegistryStatus = (report: RegistryStatusReport): string[] => {
  const rows: Array<[string, string | undefined]> = [
    ['registry', report.name],
    ['status', report.status],
    ['runtime', report.runtime],
    ['endpoint', report.endpoint],
    ['in-cluster', report.inClusterEndpoint],
    [
      'container',
      report.container &&
        `${report.container} (${report.containerId ?? '?'}, ${report.containerState ?? '?'}${report.adopted ? ', adopted: not created by ksail-fluxd' : ''})`,
    ],
    ['networks', report.networks?.join(', ')],
    ['pid', report.pid?.toString()],
    ['log', report.logFile],
    ['volume', report.volume],
    ['data path', report.dataPath],
    ['differs', report.differences.length > 0 ? report.differences.join(', ') : undefined],
    ['last error', report.lastError],
  ];
  return rows
    .filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '')
    .map(([k, v]) => `${k.padEnd(11)} ${v}`);
};
