/**
 * The Docker port: the few engine operations the registry runtime needs, in our own terms. `dockerode-engine.ts`
 * puts dockerode behind it (and is the only module that knows Docker's wire shapes); unit tests use an in-memory
 * engine, and `test/integration/docker-engine-contract.test.ts` runs one suite against both so that they agree.
 */

/** One published port: `containerPort` (e.g. `5000/tcp`) on `hostIp:hostPort`; `hostIp` is `0.0.0.0` when unset. */
export interface PortBinding {
  containerPort: string;
  hostIp: string;
  hostPort: string;
}

export interface ContainerMount {
  type: string;
  /** The volume's name, for volume mounts. */
  name?: string;
  source: string;
  destination: string;
}

/** What the runtime reads of `docker inspect`. */
export interface ContainerInfo {
  id: string;
  name: string;
  /** The image as the container was created with it (`registry:3`). */
  image: string;
  /** The image's id (`sha256:…`), to compare `registry:3` with `docker.io/library/registry:3`. */
  imageId: string;
  status: string;
  running: boolean;
  restarting: boolean;
  exitCode: number;
  /** Docker's error text when the container failed to run; empty otherwise. */
  error: string;
  oomKilled: boolean;
  startedAt: string;
  cmd: string[];
  labels: Record<string, string>;
  networks: string[];
  bindings: PortBinding[];
  mounts: ContainerMount[];
}

/** The container we create, in our terms; the adapter turns it into Docker's create options. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env: string[];
  port: PortBinding;
  restart: 'unless-stopped';
  mount: { type: 'bind' | 'volume'; source: string; target: string };
}

/** A running container, as `docker ps` lists it. */
export interface RunningContainer {
  id: string;
  name: string;
  publicPorts: number[];
}

/**
 * Errors: an engine that does not answer throws `runtime-unavailable` (a KsailError); "not found" is an answer
 * (`undefined`/`false`), never an error; anything else passes through.
 */
export interface DockerEngine {
  /** Resolves when the engine answers `/_ping`; `signal` bounds the wait. */
  ping(signal: AbortSignal): Promise<void>;
  inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined>;
  createContainer(spec: ContainerSpec): Promise<string>;
  /** `already-running` for a container that runs (Docker's 304). */
  startContainer(id: string): Promise<'started' | 'already-running'>;
  /** Stops with a grace period; a stopped container is not an error. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  restartContainer(id: string, graceSeconds: number): Promise<void>;
  /** Never removes the container's volumes. */
  removeContainer(id: string, options: { force: boolean }): Promise<void>;
  listRunning(): Promise<RunningContainer[]>;
  /** The id of a local image, or undefined when it is not present. */
  imageId(reference: string): Promise<string | undefined>;
  pullImage(reference: string, onProgress?: (line: string) => void): Promise<void>;
  volumeExists(name: string): Promise<boolean>;
  /** A volume's labels, or undefined when there is no such volume. */
  volumeLabels(name: string): Promise<Record<string, string> | undefined>;
  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  /** A missing volume is not an error. */
  removeVolume(name: string): Promise<void>;
  /** Bytes used by a volume, or undefined while Docker has not measured it. */
  volumeBytes(name: string): Promise<number | undefined>;
  networkExists(name: string): Promise<boolean>;
  /** Connecting a container that is already on the network is not an error. */
  connectNetwork(network: string, containerId: string): Promise<void>;
  /** Runs `cmd` in a running container; `exitCode` is null when it did not finish in time. */
  exec(containerId: string, cmd: string[]): Promise<{ exitCode: number | null; output: string }>;
  /** The last lines of a container's log, empty when they cannot be read. */
  logTail(containerId: string, lines: number): Promise<string>;
}
