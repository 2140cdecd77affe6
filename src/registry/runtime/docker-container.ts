import type Dockerode from 'dockerode';
import { z } from 'zod';
import { describeError, KsailError } from '../../errors.js';
import {
  CONTAINER_DATA_PATH,
  CONTAINER_PORT,
  createdByUs,
  KSAIL_REGISTRY_LABEL,
  type RegistrySettings,
} from './settings.js';

/** Docker's answers we rely on, validated rather than trusted (HostConfig.PortBindings is untyped). */
export const PortBindings = z
  .record(
    z.string(),
    z.array(z.object({ HostIp: z.string().optional(), HostPort: z.string().optional() })).nullable(),
  )
  .nullable()
  .optional();
export type PortBindings = z.infer<typeof PortBindings>;

const LOOPBACK = new Set(['127.0.0.1', '::1']);

/** The container we create: loopback port only, delete enabled, restart unless stopped. */
export const containerSpec = (
  settings: RegistrySettings,
  labels: Record<string, string>,
): Dockerode.ContainerCreateOptions => ({
  name: settings.name,
  Image: settings.image,
  Labels: labels,
  Env: ['REGISTRY_STORAGE_DELETE_ENABLED=true'],
  ExposedPorts: { [CONTAINER_PORT]: {} },
  HostConfig: {
    PortBindings: { [CONTAINER_PORT]: [{ HostIp: '127.0.0.1', HostPort: String(settings.port) }] },
    RestartPolicy: { Name: 'unless-stopped' },
    Mounts: [
      settings.dataPath
        ? { Type: 'bind', Source: settings.dataPath, Target: CONTAINER_DATA_PATH }
        : { Type: 'volume', Source: settings.volumeName, Target: CONTAINER_DATA_PATH },
    ],
  },
});

const bindingsOf = (info: Dockerode.ContainerInspectInfo): Array<[string, string, string]> =>
  Object.entries(PortBindings.parse(info.HostConfig.PortBindings) ?? {}).flatMap(([containerPort, list]) =>
    (list ?? []).map((b): [string, string, string] => [
      containerPort,
      b.HostIp || '0.0.0.0',
      b.HostPort ?? '',
    ]),
  );

/** Published ports reachable from other machines, e.g. `5000/tcp on 0.0.0.0:5000`. */
export const nonLoopbackBindings = (info: Dockerode.ContainerInspectInfo): string[] =>
  bindingsOf(info)
    .filter(([, ip]) => !LOOPBACK.has(ip))
    .map(([containerPort, ip, hostPort]) => `${containerPort} on ${ip}:${hostPort || '<random>'}`);

export const refuseNonLoopback = (
  info: Dockerode.ContainerInspectInfo,
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

const storageOf = (info: Dockerode.ContainerInspectInfo): string => {
  const mount = info.Mounts.find((m) => m.Destination === CONTAINER_DATA_PATH);
  if (!mount) return 'none';
  return mount.Type === 'volume' ? `volume ${mount.Name ?? mount.Source}` : `data path ${mount.Source}`;
};

/** Differences between an existing container and the config, each as `what actual ≠ wanted`. */
export const containerDifferences = async (
  docker: Dockerode,
  info: Dockerode.ContainerInspectInfo,
  settings: RegistrySettings,
): Promise<string[]> => {
  const differences: string[] = [];
  // An adopted registry (KSail's) keeps its own image and storage: ksail-fluxd only needs its loopback port.
  const adopted = !createdByUs(info.Config.Labels);
  if (
    !adopted &&
    info.Config.Image !== settings.image &&
    !(await sameImage(docker, info.Image, settings.image))
  ) {
    differences.push(`image ${info.Config.Image} ≠ ${settings.image}`);
  }
  const ports = bindingsOf(info).filter(([containerPort]) => containerPort === CONTAINER_PORT);
  const hostPorts = [...new Set(ports.map(([, , hostPort]) => hostPort))];
  if (hostPorts.length !== 1 || hostPorts[0] !== String(settings.port)) {
    differences.push(`port ${hostPorts.join(',') || 'none'} ≠ ${settings.port}`);
  }
  const extra = bindingsOf(info).filter(([containerPort]) => containerPort !== CONTAINER_PORT);
  if (extra.length > 0) {
    differences.push(`published ${extra.map(([p, ip, h]) => `${ip}:${h}→${p}`).join(', ')} ≠ nothing else`);
  }
  const storage = storageOf(info);
  const wanted = settings.dataPath ? `data path ${settings.dataPath}` : `volume ${settings.volumeName}`;
  if (!adopted && storage !== wanted) differences.push(`${storage} ≠ ${wanted}`);
  return differences;
};

/** `registry:3` and `docker.io/library/registry:3` name the same image; compare ids rather than strings. */
const sameImage = async (docker: Dockerode, imageId: string, wanted: string): Promise<boolean> => {
  try {
    return (await docker.getImage(wanted).inspect()).Id === imageId;
  } catch {
    return false;
  }
};

/** The name of a running container publishing `port` on the host, other than `excludeId`. */
export const findPortHolder = async (
  docker: Dockerode,
  port: number,
  excludeId?: string,
): Promise<string | undefined> => {
  const containers = await docker.listContainers();
  const holder = containers.find((c) => c.Id !== excludeId && c.Ports.some((p) => p.PublicPort === port));
  return holder?.Names[0]?.replace(/^\//, '');
};

/** Docker's wording when a host port cannot be bound (userland proxy or iptables). */
export const isPortConflict = (error: unknown): boolean =>
  /port is already allocated|address already in use|bind: /i.test(describeError(error));

/** Pulls `image` when it is not present; progress lines go to `onProgress`. */
export const ensureImage = async (
  docker: Dockerode,
  image: string,
  onProgress?: (line: string) => void,
): Promise<void> => {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw dockerError(error);
  }
  onProgress?.(`pulling ${image}`);
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => {
      // docker-modem's callbacks are untyped; each event is {status, id?, progress?, error?}.
      (docker.modem as { followProgress: (...args: unknown[]) => void }).followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: { status?: string; id?: string; progress?: string }) =>
          onProgress?.([event.id, event.status, event.progress].filter(Boolean).join(' ')),
      );
    });
  } catch (error) {
    throw new KsailError(
      'image-missing',
      `image ${image} is not present and pulling it failed (${describeError(error)}). Get it one of these ways: run \`docker pull ${image}\` on a machine with access, then \`docker save ${image} -o registry.tar\` there and \`docker load -i registry.tar\` here; or build it from Debian's docker-registry with \`scripts/build-registry-image.sh ${image}\`; or set registry.image in the config to an image you have`,
      { cause: error, details: { image } },
    );
  }
};

/** An engine that does not answer becomes runtime-unavailable; other errors pass through unchanged. */
export const dockerError = (error: unknown): unknown => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ETIMEDOUT') {
    return new KsailError(
      'runtime-unavailable',
      `the Docker engine does not answer (${describeError(error)}); start Docker, check DOCKER_HOST and that you may use the Docker socket, or set registry.runtime to process or external`,
      { cause: error },
    );
  }
  return error;
};

export const isNotFound = (error: unknown): boolean => (error as { statusCode?: number }).statusCode === 404;

/** Who made an adopted container, for messages. */
export const ownerOf = (info: Dockerode.ContainerInspectInfo): string =>
  info.Config.Labels?.[KSAIL_REGISTRY_LABEL] !== undefined ? "KSail's registry" : 'no ksail-fluxd label';

/** Whether the volume is one ksail-fluxd created (or none exists); KSail's `local-registry` is never deleted. */
export const volumeIsOurs = async (docker: Dockerode, name: string): Promise<boolean> => {
  try {
    return createdByUs((await docker.getVolume(name).inspect()).Labels);
  } catch (error) {
    if (isNotFound(error)) return true;
    throw dockerError(error);
  }
};
