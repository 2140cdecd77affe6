import type { ResolvedSource } from '../../config/schema.js';
import { KsailError, describeError, isKsailError } from '../../errors.js';
import type { DaemonControl, DaemonStatus, PushOutcome, SourceStatus } from './control-types.js';
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
}

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

/** The daemon's side of the control API (status, reconcile, pause, push, events). */
export const createDaemonControl = (parts: ControlParts): DaemonControl => ({
  status: () => ({
    ...parts.status(),
    registry: parts.registry.view(),
    cluster: parts.sync.cluster(),
    sources: [...parts.runtimes().values()].map(({ source, pipeline }): SourceStatus => {
      const tagPatched = parts.sync.tagPatched(source.name);
      const rolledBack = parts.sync.rolledBack(source.name);
      return {
        name: source.name,
        path: source.absolutePath,
        repository: source.repository,
        ...pipeline.snapshot(),
        ...(tagPatched === undefined ? {} : { tagPatched }),
        pendingRequests: parts.sync.pendingFor(source.name),
        ...(rolledBack ? { rolledBack } : {}),
      };
    }),
    recentRequests: parts.sync.recent(),
  }),

  reconcile: async (body) => {
    parts.assertCanReconcile?.();
    const names = selectNames(parts, body.sources);
    const runtimes = parts.runtimes();
    const sources = names.flatMap((name) => runtimes.get(name)?.source ?? []);
    const { ids, done } = parts.sync.trigger(sources, (name) => runtimes.get(name)?.pipeline.version);
    if (body.wait) await done;
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
});
