import { systemClock } from '../../../src/clock.js';
import { Config, type ResolvedConfig, type ResolvedSource } from '../../../src/config/schema.js';
import type { DaemonEvent } from '../../../src/daemon/control/control-types.js';
import { createDaemon, type DaemonDeps } from '../../../src/daemon/create-daemon.js';
import type { FileWatcher, WatchOptions } from '../../../src/daemon/watch/file-watcher.js';
import type {
  RolledBack,
  FluxDriver,
  ReconcileResult,
  TagMoveOptions,
} from '../../../src/daemon/cluster-sync/flux-driver-types.js';
import type { Publisher, PublishProgress } from '../../../src/publish/publisher.js';
import { KsailError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/logger.js';
import type { OCIRegistry } from '../../../src/model/oci-registry.js';
import type { ReconciliationRequest } from '../../../src/model/reconciliation-request.js';
import type { PublishResult } from '../../../src/publish/publish-types.js';
import type { RollbackResult } from '../../../src/publish/rollback.js';

/** A resolved config with the given sources (paths under /srv/test). */
export const makeConfig = (names: readonly string[], raw: Record<string, unknown> = {}): ResolvedConfig => {
  const parsed = Config.parse({ ...raw, sources: names.map((name) => ({ name, path: `./${name}` })) });
  return {
    ...parsed,
    project: 'test',
    file: undefined,
    baseDir: '/srv/test',
    sources: parsed.sources.map((source): ResolvedSource => ({
      ...source,
      repository: `test/${source.name}`,
      absolutePath: `/srv/test/${source.name}`,
    })),
  };
};

/**
 * Models publishSource on content: each source has a "content" string; a run whose content equals the last pushed
 * one is `unchanged`, otherwise the next patch version is pushed. `gate` holds runs; `failWith` makes them throw.
 */
export class FakePublisher implements Publisher {
  readonly content = new Map<string, string>();
  readonly calls: string[] = [];
  readonly pushed: { source: string; version: string; content: string }[] = [];
  /** The sources whose caches the daemon released, in order. */
  readonly forgotten: string[] = [];
  failWith: ((source: string) => Error | undefined) | undefined;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** Holds runs after the content compare, during the "upload". */
  pushGate: Promise<void> | undefined;
  private readonly last = new Map<string, { content: string; patch: number }>();

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  /** Content already in the registry (as if pushed by an earlier daemon run). */
  seed(source: string, content: string, patch = 0): void {
    this.last.set(source, { content, patch });
    this.content.set(source, content);
  }

  forget(source: ResolvedSource): void {
    this.forgotten.push(source.name);
  }

  async publish(source: ResolvedSource, progress?: PublishProgress): Promise<PublishResult> {
    this.calls.push(source.name);
    if (this.gate) await this.gate;
    const failure = this.failWith?.(source.name);
    if (failure) throw failure;
    const content = this.content.get(source.name) ?? 'initial';
    const previous = this.last.get(source.name);
    const base = {
      source: source.name,
      repository: source.repository,
      fileCount: 1,
      size: 10,
      elapsedMs: 1,
      warnings: [],
    };
    if (previous?.content === content) {
      const version = `1.0.${previous.patch}`;
      return {
        ...base,
        outcome: 'unchanged',
        version,
        manifestDigest: `sha256:m-${version}`,
        layerDigest: `sha256:${content}`,
      };
    }
    // As publishSource: a superseded run tags nothing, asked before the upload and before the tag.
    const dropped = { ...base, outcome: 'dropped', version: undefined, manifestDigest: undefined } as const;
    if (progress?.superseded?.()) return { ...dropped, layerDigest: `sha256:${content}` };
    progress?.onPushing(`1.0.${previous ? previous.patch + 1 : 0}`);
    if (this.pushGate) await this.pushGate;
    if (progress?.superseded?.()) return { ...dropped, layerDigest: `sha256:${content}` };
    const patch = previous ? previous.patch + 1 : 0;
    this.last.set(source.name, { content, patch });
    const version = `1.0.${patch}`;
    this.pushed.push({ source: source.name, version, content });
    return {
      ...base,
      outcome: 'pushed',
      version,
      manifestDigest: `sha256:m-${version}`,
      layerDigest: `sha256:${content}`,
    };
  }
}

/** A Flux driver whose cluster can be switched off (every call throws cluster-unreachable). */
export class FakeFlux implements FluxDriver {
  reachable = true;
  readonly ensured: { source: string; version: string }[] = [];
  readonly patched: { source: string; version: string }[] = [];
  readonly reconciled: ReconciliationRequest[] = [];
  reconcileError: Error | undefined;
  /** The options of every ensure and patch call, in order. */
  readonly moveOptions: (TagMoveOptions | undefined)[] = [];

  /** While set, every call throws it (a missing kubeconfig, say). */
  failure: Error | undefined;

  private check(): void {
    if (this.failure) throw this.failure;
    if (!this.reachable) throw new KsailError('cluster-unreachable', 'the cluster does not answer');
  }

  /** What the cluster keeps at a rolled-back tag: ensureResources reports it when asked to keep rollbacks. */
  rolledBack: RolledBack | undefined;
  readonly rollbacks: { source: string; version: string | undefined }[] = [];

  ensureResources(
    source: ResolvedSource,
    version: string,
    options?: TagMoveOptions,
  ): Promise<{ rolledBack?: RolledBack }> {
    this.moveOptions.push(options);
    this.check();
    this.ensured.push({ source: source.name, version });
    if (!options?.keepRollback) this.rolledBack = undefined;
    return Promise.resolve(this.rolledBack ? { rolledBack: this.rolledBack } : {});
  }

  rollback(source: ResolvedSource, version: string | undefined): Promise<RollbackResult> {
    this.check();
    this.rollbacks.push({ source: source.name, version });
    const to = version ?? '1.0.0';
    this.rolledBack = { version: to, latest: '1.0.1' };
    return Promise.resolve({
      source: source.name,
      from: '1.0.1',
      to,
      latest: '1.0.1',
      outcome: 'succeeded',
      revision: `${to}@sha256:m-${to}`,
    });
  }

  patchTag(source: ResolvedSource, version: string, options?: TagMoveOptions): Promise<void> {
    this.moveOptions.push(options);
    this.check();
    this.rolledBack = undefined;
    this.patched.push({ source: source.name, version });
    return Promise.resolve();
  }

  /** While set, reconciles wait for it (to observe how many run at once). */
  gate: Promise<void> | undefined;
  inFlight = 0;
  maxInFlight = 0;

  async reconcile(request: ReconciliationRequest, signal?: AbortSignal): Promise<ReconcileResult[]> {
    this.check();
    if (this.reconcileError) throw this.reconcileError;
    this.reconciled.push(request);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      // Like the real wait, an abort (the daemon stops, or a newer push supersedes the request) ends it.
      await new Promise<void>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new KsailError('aborted', 'waiting was cancelled')), {
          once: true,
        });
        void (this.gate ?? Promise.resolve()).then(resolve);
      });
    } finally {
      this.inFlight -= 1;
    }
    return Promise.resolve(
      Object.entries(request.expected ?? {}).map(([source, { tag, digest }]) => ({
        source,
        revision: `${tag}@${digest}`,
        durations: { total: 1 },
      })),
    );
  }
}

/** Watchers that tests drive by hand; `limit` makes non-polling watchers fail with ENOSPC. */
export class FakeWatchers {
  readonly active = new Map<string, WatchOptions>();
  readonly opened: { directory: string; usePolling: boolean }[] = [];
  limit = false;

  readonly factory = (options: WatchOptions): Promise<FileWatcher> => {
    this.opened.push({ directory: options.directory, usePolling: options.usePolling });
    if (this.limit && !options.usePolling) {
      return Promise.reject(
        Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), {
          code: 'ENOSPC',
        }),
      );
    }
    this.active.set(options.directory, options);
    return Promise.resolve({
      close: () => {
        if (this.active.get(options.directory) === options) this.active.delete(options.directory);
        return Promise.resolve();
      },
    });
  };

  emit(source: string, path = 'deploy.yaml', kind: 'add' | 'change' | 'unlink' = 'change'): void {
    const watcher = this.active.get(`/srv/test/${source}`);
    if (!watcher) throw new Error(`no watcher for ${source}`);
    // Every event, as inotify reports a write to any file in a watched directory: ignoring is the daemon's job.
    watcher.onEvent(kind, path);
  }

  error(source: string, error: Error): void {
    this.active.get(`/srv/test/${source}`)?.onError(error);
  }
}

export interface Harness {
  daemon: ReturnType<typeof createDaemon>;
  publisher: FakePublisher;
  flux: FakeFlux;
  watchers: FakeWatchers;
  events: DaemonEvent[];
  ofType(type: DaemonEvent['type']): DaemonEvent[];
}

/** What the fake ensureRegistry returns: a running registry on port 5050. */
export const RUNNING_REGISTRY: OCIRegistry = {
  name: 'local-registry',
  endpoint: 'localhost:5050',
  inClusterEndpoint: 'local-registry:5000',
  port: 5050,
  storage: { kind: 'volume', volumeName: 'local-registry' },
  status: 'Running',
};

/** A daemon wired to fakes; use with vi.useFakeTimers() (the system clock and scheduler follow them). */
export const makeHarness = (config: ResolvedConfig, extra: Partial<DaemonDeps> = {}): Harness => {
  const publisher = new FakePublisher();
  const flux = new FakeFlux();
  const watchers = new FakeWatchers();
  const events: DaemonEvent[] = [];
  let ids = 0;
  const daemon = createDaemon({
    config,
    logger: createSilentLogger(),
    clock: systemClock,
    version: '0.0.0-test',
    pid: 1,
    watcherFactory: watchers.factory,
    ignoreMatcher: () => Promise.resolve({ ignores: (path) => path.endsWith('.swp') }),
    ensureRegistry: () => Promise.resolve(RUNNING_REGISTRY),
    createPublisher: () => publisher,
    createFlux: () => flux,
    retry: { baseMs: 1000, maxMs: 8000 },
    newRequestId: () => `req-${++ids}`,
    ...extra,
  });
  daemon.control.subscribe((event) => events.push(event));
  return {
    daemon,
    publisher,
    flux,
    watchers,
    events,
    ofType: (type) => events.filter((event) => event.type === type),
  };
};
