import type { Clock } from '../clock.js';
import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { OCIRegistry } from '../model/oci-registry.js';
import type { Publisher } from '../publish/publisher.js';
import type { VersionInfo } from '../registry/versions.js';
import type { RetryPolicy } from '../retry.js';
import type { FluxDriver } from './cluster-sync/flux-driver-types.js';
import type { DaemonControl } from './control/control-types.js';
import type { SourcePipeline } from './pipeline/source-pipeline.js';
import type { WatcherFactory } from './watch/file-watcher.js';
import type { RootGuardFactory } from './watch/root-guard.js';
import type { IgnoreMatcherFactory, SourceWatch } from './watch/source-watch.js';

/** What `createDaemon` takes and gives: every adapter it uses, so that tests inject fakes and start.ts the real ones. */

export type ControlServerFactory = (options: {
  socketPath: string;
  control: DaemonControl;
  logger: Logger;
  clock: Clock;
}) => Promise<{ close(): Promise<void> }>;

/** Starts the dashboard (src/daemon/ui) on 127.0.0.1:`port`. */
export type UiServerFactory = (options: {
  port: number;
  control: DaemonControl;
  logger: Logger;
  clock: Clock;
}) => Promise<{ url: string; close(): Promise<void> }>;

/** Every adapter the daemon uses, so tests can inject fakes; `start.ts` wires the real ones. */
export interface DaemonDeps {
  config: ResolvedConfig;
  logger: Logger;
  clock: Clock;
  version: string;
  pid?: number;
  env?: NodeJS.ProcessEnv;
  watcherFactory: WatcherFactory;
  ignoreMatcher: IgnoreMatcherFactory;
  /** Watches each source directory itself (one missing at start, or deleted and re-created); optional in tests. */
  rootGuard?: RootGuardFactory;
  ensureRegistry(config: ResolvedConfig): Promise<OCIRegistry>;
  /** Releases what the deps keep for the daemon's life (the registry process supervision). */
  dispose?(): Promise<void>;
  /** The publisher and the Flux port are built once, from the config; they reach out only when used. */
  createPublisher(config: ResolvedConfig): Publisher;
  createFlux(config: ResolvedConfig): FluxDriver;
  startControlServer?: ControlServerFactory;
  /** At start-up: warns about other Kustomizations that apply a source's objects (src/flux/overlap.ts). */
  checkOverlaps?(config: ResolvedConfig): Promise<unknown>;
  /** The dashboard, started when `ui.port` is set. */
  startUiServer?: UiServerFactory;
  /** The registry's versions of a repository, newest first (the dashboard's version history). */
  listVersions?: (repository: string) => Promise<VersionInfo[]>;
  /** Reads the config again (SIGHUP). */
  reloadConfig?: () => Promise<ResolvedConfig>;
  retry?: RetryPolicy;
  /** How long close() waits for a push or reconcile in flight (default 10 s). */
  closeTimeoutMs?: number;
  newRequestId?: () => string;
}

export interface Daemon {
  start(): Promise<void>;
  /** Idempotent: stops watching, finishes the push in flight (bounded), closes the socket. */
  close(): Promise<void>;
  /** Re-reads the config: adds, removes and recreates sources without a restart. */
  reload(): Promise<void>;
  control: DaemonControl;
}

export interface SourceRuntime {
  source: ResolvedSource;
  pipeline: SourcePipeline;
  watch: SourceWatch;
}
