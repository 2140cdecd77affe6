import { mkdir, rm } from 'node:fs/promises';
import type { Clock } from '../../clock.js';
import { describeError, KsailError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OCIRegistry } from '../../model/oci-registry.js';
import {
  containerDifferences,
  containerSpec,
  ensureImage,
  findPortHolder,
  isPortConflict,
  nonLoopbackBindings,
  ownerOf,
  refuseNonLoopback,
  volumeIsOurs,
} from './docker-container.js';
import type { ContainerInfo, DockerEngine } from './docker-engine.js';
import {
  directoryBytes,
  gcFailedError,
  portInUse,
  portTakenError,
  probeRegistry,
  waitForHealthy,
} from './probe.js';
import { liveRegistryPid, processPaths } from './process-files.js';
import { processHolder } from './port-process.js';
import { dockerState } from './docker-state.js';
import {
  createdByUs,
  labelsFor,
  registryEntity,
  registryStorage,
  type RegistrySettings,
} from './settings.js';
import type { DownOptions, DownResult, RegistryRuntime, RegistryState, UpOptions } from './types.js';

export interface DockerRuntimeDeps {
  docker: DockerEngine;
  logger: Logger;
  clock: Clock;
  fetch?: typeof fetch;
  labels?: Record<string, string>;
  healthTimeoutMs?: number;
}

/** Both registry:3 flavours (official and Debian-built) ship the binary here. */
const REGISTRY_BINARY = '/bin/registry';
const DEFAULT_CONFIG = '/etc/docker/registry/config.yml';

/** The registry as a Docker container: `127.0.0.1:<port>` → 5000/tcp and nothing else (issue #3). */
export const createDockerRuntime = (settings: RegistrySettings, deps: DockerRuntimeDeps): RegistryRuntime => {
  const { docker, logger, clock } = deps;
  const healthTimeoutMs = deps.healthTimeoutMs ?? 15_000;
  const storage = registryStorage(settings);
  const inspectContainer = (): Promise<ContainerInfo | undefined> => docker.inspectContainer(settings.name);

  const inspect = async (): Promise<RegistryState> => {
    // In parallel: this is the fast path of ensureRegistry, run before every push.
    const [info, healthy] = await Promise.all([
      inspectContainer(),
      probeRegistry(settings.port, { fetch: deps.fetch, clock: deps.clock }),
    ]);
    if (!info) {
      return {
        runtime: 'docker',
        registry: registryEntity(settings, storage, 'NotProvisioned', undefined),
        differences: [],
        ready: false,
      };
    }
    const differences = [
      ...nonLoopbackBindings(info).map((binding) => `publishes ${binding} ≠ 127.0.0.1 only`),
      ...(await containerDifferences(docker, info, settings)),
    ];
    return dockerState({ settings, storage, info, healthy, differences, now: clock.now(), healthTimeoutMs });
  };

  /** Fails early with a port-taken error naming the holder, before Docker's less helpful bind error. */
  const preflightPort = async (excludeId?: string): Promise<void> => {
    const holder = await findPortHolder(docker, settings.port, excludeId);
    if (holder) throw portTakenError(settings.port, { container: holder });
    if (await portInUse(settings.port)) {
      // `auto` may have started a process registry earlier, while Docker was not answering.
      const pid = await liveRegistryPid(processPaths(settings));
      throw portTakenError(settings.port, pid !== undefined ? { pid } : await processHolder(settings.port));
    }
  };

  const start = async (id: string, created: boolean): Promise<void> => {
    try {
      await docker.startContainer(id);
    } catch (error) {
      // A container we just created must not linger half-made; an adopted one is the user's to keep.
      if (created) await docker.removeContainer(id, { force: true }).catch(() => undefined);
      if (isPortConflict(error)) {
        const holder = await findPortHolder(docker, settings.port, id);
        throw portTakenError(
          settings.port,
          holder ? { container: holder } : await processHolder(settings.port),
          error,
        );
      }
      throw error;
    }
  };

  const ensureStorage = async (): Promise<void> => {
    if (settings.dataPath) {
      await mkdir(settings.dataPath, { recursive: true });
      return;
    }
    if (await docker.volumeExists(settings.volumeName)) return;
    await docker.createVolume(settings.volumeName, labelsFor(settings, deps.labels));
  };

  const connectNetwork = async (id: string, info: ContainerInfo | undefined): Promise<void> => {
    const name = settings.network;
    if (!name || info?.networks.includes(name)) return;
    if (!(await docker.networkExists(name))) {
      throw new KsailError(
        'network-not-found',
        `Docker network ${name} (cluster.network) does not exist; create the cluster first (kind and k3d create its network), or fix cluster.network in the config`,
        { details: { network: name } },
      );
    }
    await docker.connectNetwork(name, id);
    logger.info('registry connected to cluster network', { container: settings.name, network: name });
  };

  const waitHealthy = (id: string): Promise<void> =>
    waitForHealthy(settings.port, {
      clock,
      fetch: deps.fetch,
      timeoutMs: healthTimeoutMs,
      what: `container ${settings.name}`,
      hint: `see \`docker logs ${settings.name}\``,
      check: async () => {
        const state = await docker.inspectContainer(id);
        if (state?.running || state?.restarting) return;
        const tail = await docker.logTail(id, 10);
        throw new KsailError(
          'registry-unreachable',
          `container ${settings.name} exited with code ${state?.exitCode ?? 'unknown'} while starting${tail ? `: ${tail}` : ''}; see \`docker logs ${settings.name}\``,
        );
      },
    });

  const up = async (options: UpOptions = {}): Promise<OCIRegistry> => {
    let info = await inspectContainer();
    if (info && options.recreate && !createdByUs(info.labels)) {
      throw new KsailError(
        'registry-mismatch',
        `container ${settings.name} was not created by ksail-fluxd (${ownerOf(info)}), so ksail-fluxd does not recreate it; change it with the tool that made it, or set registry.name to a registry of ksail-fluxd's own`,
        { details: { container: settings.name, adopted: true } },
      );
    }
    if (info && options.recreate) {
      // Make sure the replacement can start before removing what exists.
      await ensureImage(docker, settings.image, options.onProgress);
      await docker.removeContainer(info.id, { force: true });
      logger.info('registry container removed for recreation', { container: settings.name });
      info = undefined;
    }
    let id: string;
    if (info) {
      const adopted = !createdByUs(info.labels);
      refuseNonLoopback(info, settings.name, adopted);
      const differences = await containerDifferences(docker, info, settings);
      if (differences.length > 0 && adopted) {
        throw new KsailError(
          'registry-mismatch',
          `container ${settings.name} was not created by ksail-fluxd (${ownerOf(info)}) and differs from the config: ${differences.join(', ')}. ksail-fluxd does not recreate it: set registryPort to its port, or set registry.name to a registry of ksail-fluxd's own`,
          { details: { differences, adopted: true } },
        );
      }
      if (differences.length > 0) {
        throw new KsailError(
          'registry-mismatch',
          `container ${settings.name} exists but differs from the config: ${differences.join(', ')}. Pass --recreate to replace it (the volume and its artifacts are kept), or change the config (registry.image, registryPort, registry.volumeName/dataPath) to match it`,
          { details: { differences } },
        );
      }
      id = info.id;
      if (!info.running) {
        await preflightPort(id);
        await start(id, false);
        logger.info('registry container started', { container: settings.name });
      } else {
        logger.debug('registry container adopted', {
          container: settings.name,
          createdByUs: createdByUs(info.labels),
        });
      }
    } else {
      await ensureImage(docker, settings.image, options.onProgress);
      await ensureStorage();
      await preflightPort();
      id = await docker.createContainer(containerSpec(settings, labelsFor(settings, deps.labels)));
      await start(id, true);
      logger.info('registry container created', {
        container: settings.name,
        image: settings.image,
        port: settings.port,
      });
    }
    await connectNetwork(id, info);
    await waitHealthy(id);
    return registryEntity(settings, storage, 'Running', settings.network);
  };

  const down = async (options: DownOptions = {}): Promise<DownResult> => {
    const info = await inspectContainer();
    if (info && !createdByUs(info.labels)) {
      // Adopted (KSail's registry): it is its owner's to stop, and its volume with it.
      return {
        removed: false,
        volumeDeleted: false,
        message: `container ${settings.name} was not created by ksail-fluxd (${ownerOf(info)}); it keeps running, with its volume and artifacts (stop it with the tool that made it, e.g. \`ksail cluster delete\`)`,
      };
    }
    if (options.deleteVolume && !settings.dataPath && !(await volumeIsOurs(docker, settings.volumeName))) {
      throw new KsailError(
        'registry-mismatch',
        `volume ${settings.volumeName} was not created by ksail-fluxd, so ksail-fluxd does not delete it (nor the artifacts in it); delete it yourself with \`docker volume rm ${settings.volumeName}\` if you mean to`,
        { details: { volume: settings.volumeName } },
      );
    }
    if (info) {
      await docker.stopContainer(info.id, 5);
      await docker.removeContainer(info.id, { force: false });
      logger.info('registry container removed', { container: settings.name });
    }
    const where = settings.dataPath ? `data directory ${settings.dataPath}` : `volume ${settings.volumeName}`;
    let volumeDeleted = false;
    if (options.deleteVolume) {
      if (settings.dataPath) await rm(settings.dataPath, { recursive: true, force: true });
      else await docker.removeVolume(settings.volumeName);
      volumeDeleted = true;
    }
    const removed = info ? `removed container ${settings.name}` : `no container ${settings.name} to remove`;
    return {
      removed: info !== undefined,
      volumeDeleted,
      message: volumeDeleted
        ? `${removed}; deleted ${where} and every artifact in it`
        : `${removed}; ${where} and its artifacts stay (pass --delete-volume to delete them)`,
    };
  };

  const garbageCollect = async (): Promise<{ output: string }> => {
    const info = await inspectContainer();
    if (!info?.running) {
      throw new KsailError(
        'registry-unreachable',
        `container ${settings.name} is not running, so garbage collection cannot run in it; run \`ksail-fluxd registry up\` first`,
      );
    }
    const configPath = [...info.cmd].reverse().find((arg) => /\.ya?ml$/.test(arg)) ?? DEFAULT_CONFIG;
    const { exitCode, output } = await docker.exec(info.id, [
      REGISTRY_BINARY,
      'garbage-collect',
      '--delete-untagged',
      configPath,
    ]);
    if (exitCode !== 0) throw gcFailedError(`in container ${settings.name}`, exitCode, output);
    // The registry caches blob descriptors in memory: restart it so it stops claiming deleted blobs exist.
    await docker.restartContainer(info.id, 5);
    await waitHealthy(info.id);
    return { output };
  };

  const storageBytes = async (): Promise<number | undefined> => {
    try {
      if (settings.dataPath) return await directoryBytes(settings.dataPath);
      return await docker.volumeBytes(settings.volumeName);
    } catch (error) {
      logger.debug('registry storage size unknown', { error: describeError(error) });
      return undefined;
    }
  };

  return { kind: 'docker', inspect, up, down, garbageCollect, storageBytes };
};
