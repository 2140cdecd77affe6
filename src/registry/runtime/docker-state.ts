import type { OCIRegistry, RegistryStorage } from '../../model/oci-registry.js';
import type { ContainerInfo } from './docker-engine.js';
import { probeUrl } from './probe.js';
import { createdByUs, registryEntity, type RegistrySettings } from './settings.js';
import type { RegistryState } from './types.js';

/**
 * The data-model status of an existing container: differences from the config are an Error (so `up` refuses),
 * Running needs /v2/ to answer, a container that runs but does not answer yet is Provisioning until the health
 * timeout has passed.
 */
export const dockerState = (input: {
  settings: RegistrySettings;
  storage: RegistryStorage;
  info: ContainerInfo;
  healthy: boolean;
  differences: string[];
  now: number;
  healthTimeoutMs: number;
}): RegistryState => {
  const { settings, info, differences } = input;
  const name = settings.name;
  const network = settings.network && info.networks.includes(settings.network) ? settings.network : undefined;
  const entity = (status: OCIRegistry['status'], lastError?: string): OCIRegistry =>
    registryEntity(settings, input.storage, status, network, lastError);
  let registry: OCIRegistry;
  if (differences.length > 0) {
    registry = entity(
      'Error',
      `container ${name} differs from the config: ${differences.join(', ')}; run \`ksail-fluxd registry up --recreate\``,
    );
  } else if (info.running && input.healthy) {
    registry = entity('Running');
  } else if (info.running || info.restarting) {
    registry =
      input.now - Date.parse(info.startedAt) < input.healthTimeoutMs
        ? entity('Provisioning')
        : entity(
            'Error',
            `container ${name} runs but ${probeUrl(settings.port)} does not answer; see \`docker logs ${name}\``,
          );
  } else if (info.error || info.oomKilled) {
    registry = entity('Error', `container ${name} stopped: ${info.error || 'out of memory'}`);
  } else {
    registry = entity('NotProvisioned');
  }
  return {
    runtime: 'docker',
    registry,
    container: {
      id: info.id,
      name,
      image: info.image,
      state: info.status,
      networks: info.networks,
      labels: Object.entries(info.labels).map(([k, v]) => `${k}=${v}`),
      adopted: !createdByUs(info.labels),
    },
    differences,
    ready: registry.status === 'Running' && (!settings.network || network !== undefined),
  };
};
