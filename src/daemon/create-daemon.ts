import type { ResolvedConfig, ResolvedSource } from '../config/schema.js';
import { describeError, isKsailError } from '../errors.js';
import { assertFluxEnabled } from '../flux/preflight.js';
import { fluxEnabled } from '../model/cluster-config.js';
import { registryEndpoint } from '../model/oci-registry.js';
import type { PublishResult } from '../publish/publish-types.js';
import { createDaemonControl } from './control/daemon-control.js';
import { RegistryKeeper } from './pipeline/registry-keeper.js';
import { createEventBus } from './event-bus.js';
import { ClusterSync } from './cluster-sync/cluster-sync.js';
import { resolveSocketPath } from './control/socket-path.js';
import { SourcePipeline } from './pipeline/source-pipeline.js';
import type { Daemon, DaemonDeps, SourceRuntime } from './daemon-types.js';
import { SourceWatch } from './watch/source-watch.js';
import { diffSources, reloadedConfig } from './source-diff.js';
import { settleWithin } from './settle.js';
import { Timeline } from './timeline.js';

export type { ControlServerFactory, Daemon, DaemonDeps, UiServerFactory } from './daemon-types.js';

/** The daemon (issue #5): watch every source, publish every real save, patch the tag, reconcile. */
export const createDaemon = (deps: DaemonDeps): Daemon => {
  const { logger, clock } = deps;
  const bus = createEventBus({ clock, logger });
  let config = deps.config;
  let paused = false;
  let startedAt = new Date(clock.now()).toISOString();
  const registry = new RegistryKeeper({
    ensure: (current) => deps.ensureRegistry(current),
    clock,
    bus,
    endpoint: registryEndpoint(config.registryPort),
  });
  const runtimes = new Map<string, SourceRuntime>();
  const publisher = deps.createPublisher(config);
  const sync = new ClusterSync({
    flux: deps.createFlux(config),
    mode: config.flux.mode,
    concurrency: config.flux.concurrency,
    namespace: config.flux.namespace,
    clock,
    bus,
    logger,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.newRequestId ? { newRequestId: deps.newRequestId } : {}),
  });
  let server: { close(): Promise<void> } | undefined;
  let ui: { url: string; close(): Promise<void> } | undefined;
  const timeline = new Timeline(bus);
  let lifecycle: Promise<void> = Promise.resolve();
  let closing: Promise<void> | undefined;
  /** Whether start() got through: a daemon refused at start-up (a live socket) never ran, so it never "stopped". */
  let running = false;

  const afterPublish = (pipeline: SourcePipeline, result: PublishResult, first: boolean): void => {
    registry.ok();
    const { source } = pipeline;
    // A late result of a removed or recreated source must not touch the cluster; without Flux, pushing is all.
    if (runtimes.get(source.name)?.pipeline !== pipeline || result.version === undefined) return;
    if (!fluxEnabled(config)) return;
    // The first result applies the Flux objects at the registry's version; later ones only move the tag.
    if (!first && result.outcome !== 'pushed') return;
    sync.published(source, result.version, {
      ensure: first,
      ...(result.outcome === 'pushed' && result.manifestDigest
        ? { pushed: { tag: result.version, digest: result.manifestDigest } }
        : {}),
    });
  };

  const addSource = async (source: ResolvedSource): Promise<void> => {
    if (closing) return;
    const pipeline: SourcePipeline = new SourcePipeline({
      source,
      publisher,
      clock,
      bus,
      logger,
      quietMs: config.watch.quietPeriodMs,
      burstQuietMs: config.watch.burstQuietPeriodMs,
      maxWaitMs: config.watch.maxWaitMs,
      isPaused: () => paused,
      onPublished: (result, first) => afterPublish(pipeline, result, first),
      onFailed: (error) => {
        if (!isKsailError(error, 'registry-unreachable')) return;
        registry.unreachable(config, error);
      },
      ...(deps.retry ? { retry: deps.retry } : {}),
    });
    const watch = new SourceWatch({
      source,
      usePolling: config.watch.usePolling,
      watcherFactory: deps.watcherFactory,
      ignoreMatcher: deps.ignoreMatcher,
      ...(deps.rootGuard ? { rootGuard: deps.rootGuard } : {}),
      logger,
      bus,
      onChange: (kind, path) => pipeline.notify(kind, path),
    });
    runtimes.set(source.name, { source, pipeline, watch });
    try {
      // Watch before the first run, so a save during it is not missed.
      await watch.start();
    } catch (error) {
      bus.emit('error', source.name, { code: 'watch', error: describeError(error) });
    }
    // Start-up: compare the content with the highest tag and push when it differs.
    pipeline.trigger();
  };

  const removeSource = async (name: string): Promise<void> => {
    const runtime = runtimes.get(name);
    if (!runtime) return;
    runtimes.delete(name);
    await Promise.allSettled([runtime.watch.close(), runtime.pipeline.close()]);
    // After the last build of it: its caches (the size of the source and more) go now, not at some later GC.
    publisher.forget(runtime.source);
  };

  const doReload = async (): Promise<void> => {
    if (!deps.reloadConfig || closing) return;
    let next: ResolvedConfig;
    try {
      next = await deps.reloadConfig();
    } catch (error) {
      bus.emit('error', undefined, {
        code: isKsailError(error) ? error.code : 'internal',
        error: `config reload failed, keeping the running config: ${describeError(error)}`,
      });
      return;
    }
    const diff = diffSources(config, next);
    const reloaded = reloadedConfig(config, next);
    const { needsRestart } = reloaded;
    config = reloaded.config;
    sync.setMode(config.flux.mode);
    logger.level = config.log.level;
    if (needsRestart.length > 0) {
      logger.warn('config settings need a restart to take effect', { settings: needsRestart });
    }
    await Promise.allSettled([...diff.removed, ...diff.changed].map(removeSource));
    diff.removed.forEach((name) => {
      sync.remove(name);
      timeline.remove(name);
    });
    const byName = new Map(next.sources.map((source) => [source.name, source]));
    diff.changed.forEach((name) => {
      const source = byName.get(name);
      if (source) sync.reset(source);
    });
    await Promise.allSettled(
      [...diff.added, ...diff.changed].flatMap((name) => {
        const source = byName.get(name);
        return source ? [addSource(source)] : [];
      }),
    );
    bus.emit('config-reloaded', undefined, {
      ...diff,
      file: next.file,
      mode: next.flux.mode,
      ...(needsRestart.length > 0 ? { needsRestart } : {}),
    });
  };

  const control = createDaemonControl({
    bus,
    sync,
    registry,
    runtimes: () => runtimes,
    timeline,
    ...(deps.listVersions ? { listVersions: deps.listVersions } : {}),
    ui: () => (ui ? { url: ui.url } : undefined),
    assertCanReconcile: () => assertFluxEnabled(config),
    fluxEnabled: () => fluxEnabled(config),
    // flux.reconcileTimeout bounds each request's wait for Flux, once per round of flux.concurrency requests; the
    // margin covers the slot hand-over. The CLI's own limit (cli/reconcile.ts daemonWaitLimit) is longer.
    waitLimit: {
      clock,
      ms: (requests) =>
        config.flux.reconcileTimeoutMs *
          Math.ceil(Math.max(1, requests) / Math.max(1, config.flux.concurrency)) +
        5000,
    },
    status: () => ({
      pid: deps.pid ?? process.pid,
      version: deps.version,
      mode: sync.mode,
      paused,
      startedAt,
    }),
    setPaused: (value) => {
      if (paused === value) return;
      paused = value;
      bus.emit(value ? 'paused' : 'resumed');
      if (!value) for (const runtime of runtimes.values()) runtime.pipeline.resume();
    },
  });

  const doStart = async (): Promise<void> => {
    startedAt = new Date(clock.now()).toISOString();
    // The socket first: a second daemon fails here, before it touches the registry or the cluster.
    if (deps.startControlServer) {
      const started = await deps.startControlServer({
        socketPath: resolveSocketPath(config, deps.env ?? process.env),
        control,
        logger,
        clock,
      });
      server = started;
      // close() ran while the socket was being set up, so it found no server to close.
      if (closing) return started.close();
    }
    if (config.ui.port !== undefined && deps.startUiServer) {
      const started = await deps.startUiServer({ port: config.ui.port, control, logger, clock });
      ui = started;
      if (closing) return started.close();
    }
    await registry.start(config);
    await Promise.allSettled(config.sources.map(addSource));
    if (fluxEnabled(config) && deps.checkOverlaps) {
      // In the background: a slow cluster must not hold up the start; the warning comes when it answers.
      deps.checkOverlaps(config).catch((error: unknown) => {
        logger.debug('overlap check failed', { error: describeError(error) });
      });
    }
    running = true;
    logger.info('daemon started', {
      sources: config.sources.map((source) => source.name),
      mode: config.flux.mode,
      registry: registry.endpoint,
    });
  };

  return {
    control,
    // Start and reloads run one after another: a SIGHUP during start-up waits for the start's sources, so it
    // diffs against the runtimes that match `config` instead of adding sources twice.
    start: () => {
      const run = lifecycle.then(doStart);
      lifecycle = run.catch(() => undefined);
      return run;
    },
    reload: () => {
      lifecycle = lifecycle.then(doReload).catch((error: unknown) => {
        logger.error('config reload failed', { error: describeError(error) });
      });
      return lifecycle;
    },
    close: () => {
      closing ??= (async () => {
        const limit = deps.closeTimeoutMs ?? 10_000;
        const all = [...runtimes.values()];
        await Promise.allSettled(all.map((runtime) => runtime.watch.close()));
        // Finish the push in flight, bounded so that a hung registry cannot block shutdown.
        await settleWithin(
          clock,
          limit,
          all.map((runtime) => runtime.pipeline.close()),
        );
        for (const runtime of all) publisher.forget(runtime.source);
        await settleWithin(clock, limit, [sync.close(), registry.close()]);
        timeline.close();
        await Promise.allSettled([server?.close(), ui?.close(), deps.dispose?.()]);
        if (running) logger.info('daemon stopped');
        else logger.debug('daemon start abandoned; what it set up is released');
      })();
      return closing;
    },
  };
};
