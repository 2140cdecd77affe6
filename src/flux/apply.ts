import type { Clock } from '../clock.js';
import { isKsailError, KsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { validateSourceRef } from '../model/flux-resources.js';
import {
  generateKustomization,
  generateOCIRepository,
  type FluxSettings,
  type GeneratedSource,
} from './generate.js';
import { describeRef, ROLLED_BACK_ANNOTATION, type FluxKind } from './kinds.js';
import type { AppliedObject, KubeAdapter } from './kube-adapter.js';
import { isFieldConflict } from './kube-errors.js';
import { specTag, type KubeObject } from './kube-object.js';
import { patchTag } from './patch-tag.js';
import { abortedError } from '../retry.js';
import { withClusterRetry } from './retry.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'skipped';

export interface ApplyResult {
  kind: FluxKind;
  namespace: string;
  name: string;
  source: string;
  action: ApplyAction;
  /** Why it was skipped. */
  reason?: string;
  /** OCIRepository: the tag it points at afterwards. */
  tag?: string;
  /** OCIRepository: kept at a rolled-back tag (`rollback: 'keep'`); the newest version when it was rolled back. */
  rolledBackFrom?: string;
}

export interface ApplyResourcesOptions {
  sources: readonly GeneratedSource[];
  settings: FluxSettings;
  /**
   * The version for each source (e.g. the highest tag in the registry; undefined: none yet). Used to create an
   * OCIRepository; an existing one keeps the cluster's tag unless `moveTags` is set.
   */
  versions: Readonly<Record<string, string | undefined>>;
  /** Move existing OCIRepositories to `versions` too (with a tag patch). */
  moveTags?: boolean;
  /**
   * With `moveTags`, for an OCIRepository that `ksail-fluxd rollback` marked: `keep` leaves its tag (the content
   * is unchanged since the rollback), `clear` moves it and removes the mark (a real push). Default: move, keep the mark.
   */
  rollback?: 'keep' | 'clear' | undefined;
  /** Take over fields another manager owns (server-side apply `force`). Off by default: report the conflict. */
  force?: boolean;
  clock: Clock;
  logger: Logger;
  /** Ends the writes and their retries with `aborted` (the daemon is stopping). */
  signal?: AbortSignal | undefined;
}

/** What a reader of the object sees; managedFields-only writes (ownership moving) bump resourceVersion too. */
const visible = (object: KubeObject): string =>
  JSON.stringify([object.spec, object.metadata.labels ?? {}, object.metadata.annotations ?? {}]);

const actionOf = (before: KubeObject | undefined, after: KubeObject): ApplyAction => {
  if (before === undefined) return 'created';
  const same =
    before.metadata.resourceVersion === after.metadata.resourceVersion || visible(before) === visible(after);
  return same ? 'unchanged' : 'configured';
};

/**
 * Ensures the OCIRepository and Kustomization of every source with server-side apply (field manager
 * `ksail-fluxd`), so fields that users or other tools set survive. The tag of an existing OCIRepository belongs to
 * the tag patcher: apply keeps the cluster's tag and, with `moveTags`, moves it with a merge patch (applying a
 * different tag would conflict with the patcher's ownership of the field). A source without a version yet gets no
 * OCIRepository, and then no Kustomization (its sourceRef would dangle).
 */
export const applyResources = async (
  adapter: Pick<KubeAdapter, 'list' | 'apply' | 'mergePatch'>,
  options: ApplyResourcesOptions,
): Promise<ApplyResult[]> => {
  const { namespace } = options.settings;
  const [repositories, kustomizations] = await Promise.all([
    adapter.list('OCIRepository', namespace),
    adapter.list('Kustomization', namespace),
  ]);
  const find = (list: KubeObject[], name: string) => list.find((object) => object.metadata.name === name);
  const present = repositories.map((object) => ({ name: object.metadata.name, namespace }));
  const results: ApplyResult[] = [];

  for (const source of options.sources) {
    if (options.signal?.aborted) throw abortedError('applying the Flux objects', options.signal.reason);
    const base = { namespace, name: source.name, source: source.name };
    const existing = find(repositories, source.name);
    const clusterTag = specTag(existing);
    const version = options.versions[source.name];
    const rolledBackFrom = existing?.metadata.annotations?.[ROLLED_BACK_ANNOTATION];
    const kept = rolledBackFrom !== undefined && options.rollback === 'keep';
    const clear = rolledBackFrom !== undefined && options.rollback === 'clear';
    const wanted = existing === undefined || (options.moveTags && !kept) ? version : undefined;
    const tag = clusterTag ?? version;
    if (tag === undefined) {
      results.push({
        ...base,
        kind: 'OCIRepository',
        action: 'skipped',
        reason: `no version of ${source.repository} is known (none pushed yet?); run \`ksail-fluxd push ${source.name}\` first`,
      });
    } else {
      const repository = generateOCIRepository(source, tag, options.settings);
      let action = actionOf(existing, await applyOne(adapter, repository, options));
      let finalTag = tag;
      if ((wanted !== undefined && wanted !== tag) || clear) {
        finalTag = wanted ?? tag;
        await patchTag(adapter, {
          namespace,
          name: source.name,
          tag: finalTag,
          clock: options.clock,
          logger: options.logger,
          signal: options.signal,
          ...(clear ? { annotations: { [ROLLED_BACK_ANNOTATION]: null } } : {}),
        });
        action = 'configured';
      }
      results.push({
        ...base,
        kind: 'OCIRepository',
        action,
        tag: finalTag,
        ...(kept ? { rolledBackFrom } : {}),
      });
      if (!existing) present.push({ name: source.name, namespace });
    }

    const kustomization = generateKustomization(source, options.settings);
    try {
      validateSourceRef(kustomization, present);
    } catch (error) {
      if (!isKsailError(error, 'flux-invalid-reference')) throw error;
      results.push({ ...base, kind: 'Kustomization', action: 'skipped', reason: error.message });
      continue;
    }
    const before = find(kustomizations, source.name);
    const applied = await applyOne(adapter, kustomization, options);
    results.push({ ...base, kind: 'Kustomization', action: actionOf(before, applied) });
  }
  return results;
};

const applyOne = async (
  adapter: Pick<KubeAdapter, 'apply'>,
  object: AppliedObject,
  options: Pick<ApplyResourcesOptions, 'force' | 'clock' | 'logger' | 'signal'>,
): Promise<KubeObject> => {
  const what = describeRef({ kind: object.kind, ...object.metadata });
  try {
    const { value } = await withClusterRetry(() => adapter.apply(object, { force: options.force ?? false }), {
      clock: options.clock,
      logger: options.logger,
      what: `apply of ${what}`,
      signal: options.signal,
    });
    return value;
  } catch (error) {
    if (!isFieldConflict(error)) throw error;
    throw new KsailError(
      'cluster-http',
      `${what}: fields ksail-fluxd sets are owned by another field manager (${(error as KsailError).message}); undo the manual change (for example \`kubectl edit\`), or run \`ksail-fluxd apply --force\` to take the fields over`,
      { cause: error, details: { object: what, conflict: true } },
    );
  }
};
