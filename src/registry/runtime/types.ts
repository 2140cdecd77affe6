import type { DockerEngine } from './docker-engine.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { OCIRegistry } from '../../model/oci-registry.js';

/** Who runs the local registry (issue #3): a Docker container, a detached `docker-registry` process, or nobody we know. */
export type RuntimeKind = 'docker' | 'process' | 'external';

/** What `inspect` sees: the OCIRegistry entity plus where it lives. */
export interface RegistryState {
  runtime: RuntimeKind;
  registry: OCIRegistry;
  /** Docker: the container of that name, when one exists. */
  container?: {
    id: string;
    name: string;
    image: string;
    state: string;
    networks: string[];
    labels: string[];
    /** Not created by ksail-fluxd (KSail's registry, or one the user runs): used, never removed or recreated. */
    adopted: boolean;
  };
  /** Process: the pid from the pid file, when it is alive. */
  pid?: number;
  /** Process: where the registry writes its log. */
  logFile?: string;
  /** How the existing registry differs from the config, e.g. `image registry:2 ≠ registry:3`; `up` refuses them. */
  differences: string[];
  /** Running, healthy, matching the config and on the cluster network: `up` has nothing to do. */
  ready: boolean;
}

export interface UpOptions {
  /** Docker: remove and create the container even when it exists (the volume is kept). */
  recreate?: boolean;
  /** Progress lines (image pull) for a terminal. */
  onProgress?: (line: string) => void;
}

export interface DownOptions {
  /** Also delete the volume or data directory, and with it every artifact (FR-015). */
  deleteVolume?: boolean;
}

export interface DownResult {
  /** Whether a container or process was stopped and removed. */
  removed: boolean;
  volumeDeleted: boolean;
  /** A sentence for the user: what happened and what stayed. */
  message: string;
}

export interface RegistryRuntime {
  readonly kind: RuntimeKind;
  /** Status per the data model; `Running` only when GET /v2/ answers. */
  inspect(): Promise<RegistryState>;
  /** Idempotent: adopts a matching running registry, starts a stopped one, creates a missing one. */
  up(options?: UpOptions): Promise<OCIRegistry>;
  down(options?: DownOptions): Promise<DownResult>;
  /** Deletes blobs no manifest references (and untagged manifests), then restarts to drop cached blob state. */
  garbageCollect(): Promise<{ output: string }>;
  /** Bytes the registry stores on disk, or undefined when that cannot be measured. */
  storageBytes(): Promise<number | undefined>;
  close?(): Promise<void>;
}

export interface RuntimeDeps {
  logger: Logger;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** The Docker port; default dockerode behind it (`createDockerodeEngine`), which honours DOCKER_HOST. */
  docker?: DockerEngine;
  /** Finds a binary on PATH; default searches `env.PATH`. */
  which?: (bin: string) => Promise<string | undefined>;
  /** For the /v2/ health probe. */
  fetch?: typeof fetch;
  /** Extra container/volume labels (tests add `io.ksail-fluxd.test=true`). */
  labels?: Record<string, string>;
  /** Process runtime in a long-running daemon: restart the registry when it dies. */
  supervise?: boolean;
  /** How long `up` waits for /v2/ to answer; default 15 s. */
  healthTimeoutMs?: number;
}
