import type { Clock } from '../../clock.js';
import type { ResolvedSource } from '../../config/schema.js';
import { KsailError, describeError, isKsailError } from '../../errors.js';
import { planPrune } from '../../registry/prune.js';
import type { VersionInfo } from '../../registry/versions.js';
import type {
  DaemonControl,
  DaemonStatus,
  LastReconcile,
  PushOutcome,
  RequestView,
  SourceStatus,
  UiView,
  VersionsView,
} from './control-types.js';
import type { Timeline } from '../timeline.js';
import type { RegistryKeeper } from '../pipeline/registry-keeper.js';
import type { EventBus } from '../event-bus.js';
import type { ClusterSync } from '../cluster-sync/cluster-sync.js';
import type { SourcePipeline } from '../pipeline/source-pipeline.js';

export interface ControlParts {
  bus: EventBus;
  sync: ClusterSync;
  registry: Pick<RegistryKeeper, 'view'>;
  runtimes(): ReadonlyMap<string, { source: ResolvedSource; pipeline: SourcePipeline }>;
  status(): Pick<DaemonStatus, 'pid' | 'version' | 'mode' | 'paused' | 'startedAt'>;
  setPaused(paused: boolean): void;
  /** Throws when reconciling is not possible at all (gitOpsEngine is not Flux). */
  assertCanReconcile?(): void;
  timeline: Pick<Timeline, 'of'>;
  /** The semver versions of a repository in the registry, newest first. */
  listVersions?: (repository: string) => Promise<VersionInfo[]>;
  /** The dashboard's URL, when it runs. */
  ui?(): UiView | undefined;
  /** Whether the daemon drives a cluster at all (gitOpsEngine: Flux); status says "not used" otherwise. */
  fluxEnabled?(): boolean;
  /** How long a reconcile with wait may take for this many requests. */
  waitLimit?: { clock: Clock; ms(requests: number): number };
}

/** The newest finished request of `name` (recent() is newest first), and the newest revision Flux applied. */
const reconcileOf = (
  recent: readonly RequestView[],
  name: string,
): { lastReconcile?: LastReconcile; appliedRevision?: string } => {
  const finished = recent.filter(
    (view) => view.sources.includes(name) && view.outcome !== 'pending' && view.outcome !== 'running',
  );
  const last = finished[0];
  const applied = finished
    .filter((view) => view.outcome === 'succeeded')
    .flatMap((view) => view.results.filter((r) => r.source === name && r.revision))[0]?.revision;
  const result = last?.results.find((r) => r.source === name);
  const error = result?.error ?? last?.error;
  return {
    ...(last
      ? {
          lastReconcile: {
            id: last.id,
            outcome: last.outcome,
            ...(last.finishedAt ? { finishedAt: last.finishedAt } : {}),
            ...(result?.revision ? { revision: result.revision } : {}),
            ...(error ? { error } : {}),
            ...(result?.code ? { code: result.code } : {}),
          },
        }
      : {}),
    ...(applied ? { appliedRevision: applied } : {}),
  };
};

/** The names a request addresses: all sources when empty; an unknown name is an error that lists the known ones. */
const selectNames = (parts: ControlParts, requested: readonly string[]): string[] => {
  const known = [...parts.runtimes().keys()];
  if (requested.length === 0) return known;
  const unknown = requested.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new KsailError(
      'source-not-found',
      `no source named ${unknown.map((name) => `"${name}"`).join(', ')}; the daemon watches: ${known.join(', ') || '(none)'}. Use one of those names ("ksail-fluxd status" lists them), or add the source to the config and reload the daemon (SIGHUP)`,
      { details: { unknown, known } },
    );
  }
  return [...new Set(requested)];
};

/** JSON has no undefined: a field that is undefined is left out rather than sent as null. */
const withoutUndefined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

/** Waits for the requests, but no longer than flux.reconcileTimeout: then a coded timeout names what is left. */
const waitBounded = async (parts: ControlParts, done: Promise<void>, ids: string[]): Promise<void> => {
  const limit = parts.waitLimit;
  if (!limit) return done;
  const ms = limit.ms(ids.length);
  let cancel = (): void => undefined;
  const timedOut = new Promise<true>((resolve) => (cancel = limit.clock.after(ms, () => resolve(true))));
  const late = await Promise.race([done.then(() => false), timedOut]);
  cancel();
  if (!late) return;
  const open = ids.flatMap((id) => parts.sync.get(id) ?? []).filter((view) => !view.finishedAt);
  const cluster = parts.sync.cluster();
  throw new KsailError(
    'reconcile-timeout',
    `${open.map((view) => `request ${view.id} (${view.sources.join(', ')}) is still ${view.outcome}`).join('; ') || 'the requests did not finish'} after ${Math.round(ms / 1000)} s (flux.reconcileTimeout)${cluster.reachable ? '' : `; the cluster does not answer: ${cluster.lastError ?? 'unreachable'}`}. The daemon keeps the requests; "ksail-fluxd status" shows them`,
    { details: { ids } },
  );
};

/** The daemon's side of the control API (status, reconcile, pause, push, events). */
export const createDaemonControl = (parts: ControlParts): DaemonControl => ({
  status: () => {
    const recentRequests = parts.sync.recent();
    return {
      ...parts.status(),
      registry: parts.registry.view(),
      cluster:
        parts.fluxEnabled?.() === false ? { reachable: false, state: 'not-used' } : parts.sync.cluster(),
      sources: [...parts.runtimes().values()].map(({ source, pipeline }): SourceStatus => {
        const tagPatched = parts.sync.tagPatched(source.name);
        const timings = parts.timeline.of(source.name);
        const rolledBack = parts.sync.rolledBack(source.name);
        return {
          name: source.name,
          path: source.absolutePath,
          repository: source.repository,
          ...pipeline.snapshot(),
          ...(tagPatched === undefined ? {} : { tagPatched }),
          pendingRequests: parts.sync.pendingFor(source.name),
          ...reconcileOf(recentRequests, source.name),
          ...(timings.length > 0 ? { timings } : {}),
          ...(rolledBack ? { rolledBack } : {}),
        };
      }),
      recentRequests,
    };
  },

  reconcile: async (body) => {
    parts.assertCanReconcile?.();
    const names = selectNames(parts, body.sources);
    const runtimes = parts.runtimes();
    const sources = names.flatMap((name) => runtimes.get(name)?.source ?? []);
    const cluster = parts.sync.cluster();
    if (cluster.state === 'not-configured') {
      // Say at once why nothing can happen, instead of a request that stays pending (issue 9, §1.4).
      throw new KsailError(
        'cluster-not-configured',
        `cannot reconcile: no cluster is configured (${cluster.lastError ?? 'no kubeconfig'}); the daemon only pushes. Create the cluster or set cluster.kubeconfig, then run "ksail-fluxd reconcile" again`,
      );
    }
    const { ids, done } = parts.sync.trigger(sources, (name) => runtimes.get(name)?.pipeline.version);
    if (body.wait) await waitBounded(parts, done, ids);
    return { requests: ids.flatMap((id) => parts.sync.get(id) ?? []) };
  },

  rollback: async (name, body) => {
    parts.assertCanReconcile?.();
    const [selected] = selectNames(parts, [name]);
    const runtime = selected === undefined ? undefined : parts.runtimes().get(selected);
    if (!runtime) throw new KsailError('source-not-found', `no source named "${name}"`);
    return parts.sync.rollback(runtime.source, body.version);
  },

  request: (id) => parts.sync.get(id),

  subscribe: (listener) => parts.bus.subscribe(listener),

  pause: () => parts.setPaused(true),

  resume: () => parts.setPaused(false),

  push: async (body) => {
    const names = selectNames(parts, body.sources);
    const runtimes = parts.runtimes();
    if (body.version !== undefined && names.length !== 1) {
      throw new KsailError(
        'usage',
        'an explicit version applies to exactly one source; name the source to push',
      );
    }
    if (!body.wait) {
      // An explicit push runs even while paused: pausing stops reacting to saves, not the user.
      names.forEach((name) => runtimes.get(name)?.pipeline.trigger(true));
      return { scheduled: names };
    }
    const request = {
      ...(body.bump ? { bump: body.bump } : {}),
      ...(body.version !== undefined ? { version: body.version } : {}),
    };
    // Through each source's pipeline, one run at a time, the same publisher as every save (issue #13).
    const results = await Promise.all(
      names.map(async (name): Promise<PushOutcome> => {
        const pipeline = runtimes.get(name)?.pipeline;
        try {
          if (!pipeline) throw new KsailError('source-not-found', `source ${name} was removed; push again`);
          const { source, ...rest } = await pipeline.publishNow(request);
          return { source, ...withoutUndefined(rest) };
        } catch (error) {
          return {
            source: name,
            error: describeError(error),
            code: isKsailError(error) ? error.code : 'internal',
          };
        }
      }),
    );
    return { scheduled: names, results };
  },

  versions: async (name): Promise<VersionsView> => {
    const [selected] = selectNames(parts, [name]);
    const runtime = selected === undefined ? undefined : parts.runtimes().get(selected);
    if (!runtime || !parts.listVersions) {
      throw new KsailError(
        'unsupported',
        'this daemon cannot list versions; use "ksail-fluxd versions SOURCE"',
      );
    }
    const { source } = runtime;
    const observing = Promise.resolve()
      .then(() => {
        parts.assertCanReconcile?.();
        return parts.sync.observe(source);
      })
      .then(
        (observed) => ({ observed, unknown: observed ? undefined : 'the cluster cannot be read' }),
        (error: unknown) => ({ observed: undefined, unknown: describeError(error) }),
      );
    const [versions, { observed, unknown }] = await Promise.all([
      parts.listVersions(source.repository),
      observing,
    ]);
    // What prune would keep (FR-018): the `keep` highest and those in use, as prune reads them from the cluster
    // (the OCIRepository's tag and stored artifact) and the Kustomization's applied revision; without an answer,
    // the tag the daemon wrote and the revision its last reconcile reported.
    const tagOf = (revision: string | undefined) => revision?.split('@')[0];
    const inUse = (
      observed
        ? [observed.tag, tagOf(observed.artifactRevision), tagOf(observed.appliedRevision)]
        : [
            parts.sync.writtenTag(source.name),
            tagOf(reconcileOf(parts.sync.recent(), source.name).appliedRevision),
          ]
    ).filter((v): v is string => v !== undefined);
    const plan = planPrune(
      versions.map((v) => ({ tag: v.version, digest: v.digest })),
      source.keep,
      inUse,
    );
    const kept = new Set(plan.kept.concat(plan.skipped.map((s) => s.tag)));
    return {
      source: source.name,
      keep: source.keep,
      ...(observed
        ? {
            cluster: {
              ...(observed.tag ? { tag: observed.tag } : {}),
              ...(observed.appliedRevision ? { appliedRevision: observed.appliedRevision } : {}),
            },
          }
        : {}),
      ...(unknown ? { clusterUnknown: unknown } : {}),
      versions: versions.map((v) => ({
        version: v.version,
        digest: v.digest,
        ...(v.created ? { created: v.created } : {}),
        kept: kept.has(v.version),
        inUse: inUse.includes(v.version),
      })),
    };
  },

  ui: () => {
    const view = parts.ui?.();
    if (view) return view;
    throw new KsailError(
      'ui-disabled',
      'the dashboard is off in this daemon; set ui.port in the config and restart the daemon, or start it with "ksail-fluxd start --ui"',
    );
  },
});
