import type Dockerode from 'dockerode';
import { z } from 'zod';
import type { OCIRegistry, RegistryStorage } from '../../model/oci-registry.js';
import { probeUrl } from './probe.js';
import { createdByUs, registryEntity, type RegistrySettings } from './settings.js';
import type { RegistryState } from './types.js';

export const networksOf = (info: Dockerode.ContainerInspectInfo): string[] =>
  Object.keys(info.NetworkSettings.Networks ?? {});

/** The slice of `GET /system/df` we read: volume sizes (-1 while Docker has not computed them). */
export const DiskUsage = z.object({
  Volumes: z
    .array(z.object({ Name: z.string(), UsageData: z.object({ Size: z.number() }).nullish() }))
    .nullish(),
});
export type DiskUsage = z.infer<typeof DiskUsage>;

/**
 * The data-model status of an existing container: differences from the config are an Error (so `up` refuses),
 * Running needs /v2/ to answer, a container that runs but does not answer yet is Provisioning until the health
 * timeout has passed.
 */
export const dockerState = (input: {
  settings: RegistrySettings;
  storage: RegistryStorage;
  info: Dockerode.ContainerInspectInfo;
  healthy: boolean;
  differences: string[];
  now: number;
  healthTimeoutMs: number;
}): RegistryState => {
  const { settings, info, differences } = input;
  const name = settings.name;
  const network =
    settings.network && networksOf(info).includes(settings.network) ? settings.network : undefined;
  const entity = (status: OCIRegistry['status'], lastError?: string): OCIRegistry =>
    registryEntity(settings, input.storage, status, network, lastError);
  let registry: OCIRegistry;
  if (differences.length > 0) {
    registry = entity(
      'Error',
      `container ${name} differs from the config: ${differences.join(', ')}; run \`ksail-fluxd registry up --recreate\``,
    );
  } else if (info.State.Running && input.healthy) {
    registry = entity('Running');
  } else if (info.State.Running || info.State.Restarting) {
    registry =
      input.now - Date.parse(info.State.StartedAt) < input.healthTimeoutMs
        ? entity('Provisioning')
        : entity(
            'Error',
            `container ${name} runs but ${probeUrl(settings.port)} does not answer; see \`docker logs ${name}\``,
          );
  } else if (info.State.Error || info.State.OOMKilled) {
    registry = entity('Error', `container ${name} stopped: ${info.State.Error || 'out of memory'}`);
  } else {
    registry = entity('NotProvisioned');
  }
  return {
    runtime: 'docker',
    registry,
    container: {
      id: info.Id,
      name,
      image: info.Config.Image,
      state: info.State.Status,
      networks: networksOf(info),
      labels: Object.entries(info.Config.Labels ?? {}).map(([k, v]) => `${k}=${v}`),
      adopted: !createdByUs(info.Config.Labels),
    },
    differences,
    ready: registry.status === 'Running' && (!settings.network || network !== undefined),
  };
};
