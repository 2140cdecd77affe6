import { describeError, KsailError } from '../../errors.js';
import type { ContainerInfo, ContainerSpec, DockerEngine, PortBinding } from './docker-engine.js';
import {
  CONTAINER_DATA_PATH,
  CONTAINER_PORT,
  createdByUs,
  KSAIL_REGISTRY_LABEL,
  type RegistrySettings,
} from './settings.js';

const LOOPBACK = new Set(['127.0.0.1', '::1']);

/** The container we create: loopback port only, delete enabled, restart unless stopped. */
export const containerSpec = (settings: RegistrySettings, labels: Record<string, string>): ContainerSpec => ({
  name: settings.name,
  image: settings.image,
  labels,
  env: ['REGISTRY_STORAGE_DELETE_ENABLED=true'],
  port: { containerPort: CONTAINER_PORT, hostIp: '127.0.0.1', hostPort: String(settings.port) },
  restart: 'unless-stopped',
  mount: settings.dataPath
    ? { type: 'bind', source: settings.dataPath, target: CONTAINER_DATA_PATH }
    : { type: 'volume', source: settings.volumeName, target: CONTAINER_DATA_PATH },
});

/** Published ports reachable from other machines, e.g. `5000/tcp on 0.0.0.0:5000`. */
export const nonLoopbackBindings = (info: ContainerInfo): string[] =>
  info.bindings
    .filter((b) => !LOOPBACK.has(b.hostIp))
    .map((b) => `${b.containerPort} on ${b.hostIp}:${b.hostPort || '<random>'}`);

export const refuseNonLoopback = (
  info: ContainerInfo,
  name: string,
  /** Not created by ksail-fluxd: --recreate does not apply to it. */
  adopted = false,
): void => {
  const open = nonLoopbackBindings(info);
  if (open.length === 0) return;
  const fix = adopted
    ? `It was not created by ksail-fluxd, so ksail-fluxd does not replace it: bind it to 127.0.0.1 with the tool that made it, or set registry.name to a registry of ksail-fluxd's own`
    : `Pass --recreate to replace it with a loopback-only container (the volume is kept), or remove it yourself (docker rm -f ${name})`;
  throw new KsailError(
    'registry-mismatch',
    `container ${name} publishes ${open.join(', ')}, which other machines can reach; ksail-fluxd only uses a registry bound to 127.0.0.1. ${fix}`,
    { details: { bindings: open } },
  );
};

const storageOf = (info: ContainerInfo): string => {
  const mount = info.mounts.find((m) => m.destination === CONTAINER_DATA_PATH);
  if (!mount) return 'none';
  return mount.type === 'volume' ? `volume ${mount.name ?? mount.source}` : `data path ${mount.source}`;
};

/** Differences between an existing container and the config, each as `what actual ≠ wanted`. */
export const containerDifferences = async (
  docker: DockerEngine,
  info: ContainerInfo,
  settings: RegistrySettings,
): Promise<string[]> => {
  const differences: string[] = [];
  // An adopted registry (KSail's) keeps its own image and storage: ksail-fluxd only needs its loopback port.
  const adopted = !createdByUs(info.labels);
  // `registry:3` and `docker.io/library/registry:3` name the same image: compare ids rather than strings.
  if (!adopted && info.image !== settings.image && (await docker.imageId(settings.image)) !== info.imageId) {
    differences.push(`image ${info.image} ≠ ${settings.image}`);
  }
  const ports = info.bindings.filter((b) => b.containerPort === CONTAINER_PORT);
  const hostPorts = [...new Set(ports.map((b) => b.hostPort))];
  if (hostPorts.length !== 1 || hostPorts[0] !== String(settings.port)) {
    differences.push(`port ${hostPorts.join(',') || 'none'} ≠ ${settings.port}`);
  }
  const extra = info.bindings.filter((b: PortBinding) => b.containerPort !== CONTAINER_PORT);
  if (extra.length > 0) {
    differences.push(
      `published ${extra.map((b) => `${b.hostIp}:${b.hostPort}→${b.containerPort}`).join(', ')} ≠ nothing else`,
    );
  }
  const storage = storageOf(info);
  const wanted = settings.dataPath ? `data path ${settings.dataPath}` : `volume ${settings.volumeName}`;
  if (!adopted && storage !== wanted) differences.push(`${storage} ≠ ${wanted}`);
  return differences;
};

/** The name of a running container publishing `port` on the host, other than `excludeId`. */
export const findPortHolder = async (
  docker: DockerEngine,
  port: number,
  excludeId?: string,
): Promise<string | undefined> => {
  const containers = await docker.listRunning();
  return containers.find((c) => c.id !== excludeId && c.publicPorts.includes(port))?.name;
};

/** Docker's wording when a host port cannot be bound (userland proxy or iptables). */
export const isPortConflict = (error: unknown): boolean =>
  /port is already allocated|address already in use|bind: /i.test(describeError(error));

/** Pulls `image` when it is not present; progress lines go to `onProgress`. */
export const ensureImage = async (
  docker: DockerEngine,
  image: string,
  onProgress?: (line: string) => void,
): Promise<void> => {
  if ((await docker.imageId(image)) !== undefined) return;
  onProgress?.(`pulling ${image}`);
  try {
    await docker.pullImage(image, onProgress);
  } catch (error) {
    throw new KsailError(
      'image-missing',
      `image ${image} is not present and pulling it failed (${describeError(error)}). Get it one of these ways: run \`docker pull ${image}\` on a machine with access, then \`docker save ${image} -o registry.tar\` there and \`docker load -i registry.tar\` here; or build it from Debian's docker-registry with \`scripts/build-registry-image.sh ${image}\`; or set registry.image in the config to an image you have`,
      { cause: error, details: { image } },
    );
  }
};

/** Who made an adopted container, for messages. */
export const ownerOf = (info: ContainerInfo): string =>
  info.labels[KSAIL_REGISTRY_LABEL] !== undefined ? "KSail's registry" : 'no ksail-fluxd label';

/** Whether the volume is one ksail-fluxd created (or none exists); KSail's `local-registry` is never deleted. */
export const volumeIsOurs = async (docker: DockerEngine, name: string): Promise<boolean> => {
  const labels = await docker.volumeLabels(name);
  return labels === undefined || createdByUs(labels);
};
