import type { Clock } from '../../clock.js';
import type { ResolvedConfig } from '../../config/schema.js';
import { describeError, isKsailError, type ErrorCode } from '../../errors.js';
import type { OCIRegistry } from '../../model/oci-registry.js';
import { registryEntity, registrySettings, registryStorage } from '../../registry/runtime/settings.js';
import type { DaemonStatus } from '../control/control-types.js';
import type { EventBus } from '../event-bus.js';

/** Registry errors that need the user (another service on the port), so start-up fails instead of retrying. */
const FATAL_CODES: readonly ErrorCode[] = [
  'port-taken',
  'registry-mismatch',
  'image-missing',
  'config-invalid',
];
const REENSURE_INTERVAL_MS = 30_000;

/** The registry the config describes, for when ensureRegistry failed at start: pushes retry against it. */
export const unensuredRegistry = (config: ResolvedConfig, error: unknown): OCIRegistry => {
  // The environment only decides the state directory (pid file, locks), which the entity does not carry.
  const settings = registrySettings(config, {});
  return registryEntity(settings, registryStorage(settings), 'Error', settings.network, describeError(error));
};

/**
 * The registry as the daemon sees it (status), and keeping it up: ensured at start, and ensured again (at most
 * every 30 s) when pushes find it gone, which restarts a stopped container or registry process.
 */
export class RegistryKeeper {
  status: DaemonStatus['registry']['status'] = 'NotProvisioned';
  endpoint: string;
  lastError: string | undefined;
  private readonly ensure: (config: ResolvedConfig) => Promise<OCIRegistry>;
  private readonly clock: Clock;
  private readonly bus: EventBus;
  private lastEnsure = 0;
  private ensuring: Promise<void> | undefined;
  private closed = false;

  constructor(options: {
    ensure: (config: ResolvedConfig) => Promise<OCIRegistry>;
    clock: Clock;
    bus: EventBus;
    endpoint: string;
  }) {
    this.ensure = options.ensure;
    this.clock = options.clock;
    this.bus = options.bus;
    this.endpoint = options.endpoint;
  }

  /** Ensures the registry; when that fails for a reason that may pass (Docker not up yet), keeps going. */
  async start(config: ResolvedConfig): Promise<OCIRegistry> {
    this.lastEnsure = this.clock.now();
    try {
      const registry = await this.ensure(config);
      this.ensured(registry);
      return registry;
    } catch (error) {
      if (isKsailError(error) && FATAL_CODES.includes(error.code)) throw error;
      this.failed(error);
      this.bus.emit('error', undefined, {
        code: isKsailError(error) ? error.code : 'internal',
        error: describeError(error),
      });
      return unensuredRegistry(config, error);
    }
  }

  /** A push found the registry unreachable. */
  unreachable(config: ResolvedConfig, error: unknown): void {
    this.failed(error);
    if (this.ensuring || this.closed || this.clock.now() - this.lastEnsure < REENSURE_INTERVAL_MS) return;
    this.lastEnsure = this.clock.now();
    this.ensuring = this.ensure(config)
      .then((registry) => this.ensured(registry))
      .catch((failure: unknown) => this.failed(failure))
      .finally(() => {
        this.ensuring = undefined;
      });
  }

  ok(): void {
    this.status = 'Running';
    this.lastError = undefined;
  }

  view(): DaemonStatus['registry'] {
    return {
      status: this.status,
      endpoint: this.endpoint,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.ensuring;
  }

  private ensured(registry: OCIRegistry): void {
    this.endpoint = registry.endpoint;
    this.status = registry.status;
    this.lastError = registry.lastError;
  }

  private failed(error: unknown): void {
    this.status = 'Error';
    this.lastError = describeError(error);
  }
}
