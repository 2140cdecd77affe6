import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Clock } from '../../clock.js';
import type { ResolvedConfig } from '../../config/schema.js';
import { describeError, KsailError } from '../../errors.js';
import type { DockerEngine } from './docker-engine.js';
import { createDockerRuntime } from './docker-runtime.js';
import { createDockerodeEngine } from './dockerode-engine.js';
import { createExternalRuntime } from './external-runtime.js';
import { createProcessRuntime } from './process-runtime.js';
import { liveRegistryPid, processPaths } from './process-files.js';
import { registrySettings } from './settings.js';
import type { RegistryRuntime, RuntimeDeps } from './types.js';

export type * from './types.js';

/** Binaries of the distribution registry, in preference order (Debian names it `docker-registry`). */
export const REGISTRY_BINARIES = ['registry', 'docker-registry'] as const;

/** A `which` over `env.PATH`. */
export const whichIn =
  (env: NodeJS.ProcessEnv) =>
  async (bin: string): Promise<string | undefined> => {
    for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const candidate = join(dir, bin);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
    return undefined;
  };

/** Whether the Docker engine answers /_ping within `timeoutMs` (a stopped engine must not stall every command). */
export const dockerAnswers = async (
  docker: DockerEngine,
  clock: Clock,
  timeoutMs = 1000,
): Promise<string | undefined> => {
  const timeout = clock.timeout(timeoutMs);
  try {
    await docker.ping(timeout.signal);
    return undefined;
  } catch (error) {
    return describeError(error);
  } finally {
    timeout.cancel();
  }
};

const findBinary = async (deps: RuntimeDeps): Promise<string | undefined> => {
  const which = deps.which ?? whichIn(deps.env);
  for (const bin of REGISTRY_BINARIES) {
    const found = await which(bin);
    if (found) return found;
  }
  return undefined;
};

/** Builds the runtime for `kind` without probing anything. */
export const createRuntime = (
  config: ResolvedConfig,
  deps: RuntimeDeps,
  kind: 'docker' | 'external' | { process: string },
): RegistryRuntime => {
  const settings = registrySettings(config, deps.env);
  const common = {
    logger: deps.logger,
    clock: deps.clock,
    fetch: deps.fetch,
    healthTimeoutMs: deps.healthTimeoutMs,
  };
  if (kind === 'docker') {
    return createDockerRuntime(settings, {
      ...common,
      docker: deps.docker ?? createDockerodeEngine(deps.clock),
      labels: deps.labels,
    });
  }
  if (kind === 'external') return createExternalRuntime(settings, common);
  return createProcessRuntime(settings, { ...common, binary: kind.process, supervise: deps.supervise });
};

/**
 * Under `auto`, a live process registry of this name (started while Docker was down) stays the runtime: switching to
 * Docker once the engine is back would only find the port taken by it. `registry down` stops it, and the next `up`
 * picks Docker again. Costs one pid file read when there is none.
 */
export const liveProcessRuntime = async (
  config: ResolvedConfig,
  deps: RuntimeDeps,
): Promise<RegistryRuntime | undefined> => {
  if (!autoMayUseProcess(config)) return undefined;
  const paths = processPaths(registrySettings(config, deps.env));
  if ((await liveRegistryPid(paths)) === undefined) return undefined;
  // The binary is only needed to start it again or collect garbage; without one on PATH, stopping still works.
  const binary = (await findBinary(deps)) ?? REGISTRY_BINARIES[1];
  return createRuntime(config, deps, { process: binary });
};

/**
 * Whether `auto` may fall back to, or keep, a process registry. Not with `cluster.network`: pods reach the registry as
 * `<name>:5000` on that network, which a host process never joins (FR-004), so artifacts pushed to one would never
 * reach the cluster. There the registry waits for Docker, and pushes go out once the engine is back.
 */
export const autoMayUseProcess = (config: ResolvedConfig): boolean =>
  config.registry.runtime === 'auto' && config.cluster.network === undefined;

/** `auto` on a cluster network with no Docker engine: the one runtime pods could reach is not there. */
export const dockerNeededError = (config: ResolvedConfig, problem: string, cause?: unknown): KsailError =>
  new KsailError(
    'runtime-unavailable',
    `cluster.network is ${config.cluster.network ?? ''}, so the registry must run in Docker to join it, but no Docker engine answers (${problem}); start Docker (the cluster on that network needs it too). A running daemon pushes waiting changes once the engine is back`,
    { cause },
  );

/**
 * Picks the runtime per `registry.runtime`: `auto` is a live process registry of this name when there is one, else
 * Docker when the engine answers (~1 s ping), else a registry binary on PATH, else an error that lists what to
 * install.
 */
export const selectRuntime = async (config: ResolvedConfig, deps: RuntimeDeps): Promise<RegistryRuntime> => {
  const wanted = config.registry.runtime;
  if (wanted === 'external') return createRuntime(config, deps, 'external');
  const live = await liveProcessRuntime(config, deps);
  if (live) return live;
  if (wanted === 'docker' || wanted === 'auto') {
    const docker = deps.docker ?? createDockerodeEngine(deps.clock);
    const problem = await dockerAnswers(docker, deps.clock);
    if (problem === undefined) return createRuntime(config, { ...deps, docker }, 'docker');
    if (wanted === 'auto' && !autoMayUseProcess(config)) throw dockerNeededError(config, problem);
    if (wanted === 'docker') {
      throw new KsailError(
        'runtime-unavailable',
        `registry.runtime is docker but no Docker engine answers (${problem}); start Docker (check DOCKER_HOST and your access to the Docker socket), or set registry.runtime to auto, process or external`,
      );
    }
    deps.logger.debug('docker engine not answering; looking for a registry binary', { error: problem });
  }
  return binaryRuntime(config, deps);
};

/**
 * The process runtime with the first registry binary on PATH, or an error that lists what to install. For `process`,
 * and for `auto` once Docker is known not to answer.
 */
const binaryRuntime = async (config: ResolvedConfig, deps: RuntimeDeps): Promise<RegistryRuntime> => {
  const wanted = config.registry.runtime;
  const binary = await findBinary(deps);
  if (binary) return createRuntime(config, deps, { process: binary });
  throw new KsailError(
    'runtime-unavailable',
    wanted === 'process'
      ? `registry.runtime is process but neither ${REGISTRY_BINARIES.join(' nor ')} is on PATH; install Debian's docker-registry package (apt install docker-registry) or the distribution registry binary, or set registry.runtime to auto or external`
      : `no way to run the local registry: no Docker engine answers and neither ${REGISTRY_BINARIES.join(' nor ')} is on PATH. Install one: Docker Engine (apt install docker.io, or Docker's own packages) and start it; or Debian's docker-registry package / the distribution registry binary; or run a registry yourself on 127.0.0.1:${config.registryPort} and set registry.runtime: external`,
  );
};
