import { randomUUID } from 'node:crypto';
import semver from 'semver';
import type { Clock } from '../clock.js';
import type { ResolvedSource } from '../config/schema.js';
import { KsailError } from '../errors.js';
import { describeRef, ROLLED_BACK_ANNOTATION } from '../flux/kinds.js';
import type { KubeAdapter } from '../flux/kube-adapter.js';
import { specTag } from '../flux/kube-object.js';
import { patchTag } from '../flux/patch-tag.js';
import { reconcileRequest } from '../flux/reconcile.js';
import type { RequestedAtTokens } from '../flux/requested-at.js';
import type { Logger } from '../logger.js';
import { createRequest } from '../model/reconciliation-request.js';
import type { VersionInfo } from '../registry/versions.js';
import type { RollbackResult } from './rollback-result.js';

export type { RollbackResult } from './rollback-result.js';

export interface RollbackOptions {
  source: Pick<ResolvedSource, 'name' | 'repository'>;
  /** Default: the version before the one the cluster runs. */
  version?: string | undefined;
  namespace: string;
  adapter: Pick<KubeAdapter, 'get' | 'watch' | 'mergePatch'>;
  /** The source's versions in the registry, newest first. */
  versions: () => Promise<VersionInfo[]>;
  clock: Clock;
  logger: Logger;
  tokens: RequestedAtTokens;
  /** flux.reconcileTimeout. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

const known = (versions: readonly VersionInfo[]): string =>
  versions.map((entry) => entry.version).join(', ') || '(none)';

/** The version to go back to: the one asked for, or the newest one below what the cluster runs. */
const pickTarget = (
  options: RollbackOptions,
  versions: readonly VersionInfo[],
  current: string | undefined,
): VersionInfo => {
  const { source } = options;
  if (options.version !== undefined) {
    const found = versions.find((entry) => entry.version === options.version);
    if (found) return found;
    throw new KsailError(
      'version-invalid',
      `source ${source.name} has no version ${options.version} in ${source.repository}; known versions: ${known(versions)}`,
      { details: { known: versions.map((entry) => entry.version) } },
    );
  }
  const below =
    current !== undefined && semver.valid(current)
      ? versions.find((entry) => semver.lt(entry.version, current))
      : undefined;
  if (below) return below;
  throw new KsailError(
    'version-invalid',
    current === undefined
      ? `the cluster runs no tag of source ${source.name}, so there is no version before it; name the version to roll back to (known versions: ${known(versions)})`
      : `source ${source.name} runs ${current}, and ${source.repository} has no older version; name one of the known versions: ${known(versions)}`,
    { details: { current, known: versions.map((entry) => entry.version) } },
  );
};

/**
 * `ksail-fluxd rollback SOURCE [VERSION]`, the one implementation behind the CLI's direct path and the daemon's
 * `POST /v1/sources/{name}/rollback`: moves the OCIRepository's tag to an older version (marking it with
 * ROLLED_BACK_ANNOTATION, so the daemon leaves it there until the next real save), reconciles it and its
 * Kustomization, and waits for Flux's verdict on that exact revision. A Manual-mode hold is lifted: a rollback
 * is asked for now.
 */
export const rollbackSource = async (options: RollbackOptions): Promise<RollbackResult> => {
  const { source, namespace, adapter } = options;
  const ref = { kind: 'OCIRepository' as const, namespace, name: source.name };
  const [versions, repository] = await Promise.all([
    options.versions(),
    adapter.get(ref.kind, namespace, source.name),
  ]);
  if (!repository) {
    throw new KsailError(
      'flux-invalid-reference',
      `${describeRef(ref)} does not exist, so there is nothing to roll back; run \`ksail-fluxd apply\` (or start the daemon) first`,
    );
  }
  const [latest] = versions;
  if (!latest) {
    throw new KsailError(
      'version-invalid',
      `source ${source.name} has no versions in ${source.repository}; push one first (\`ksail-fluxd push ${source.name}\`)`,
      { details: { known: [] } },
    );
  }
  const current = specTag(repository);
  const target = pickTarget(options, versions, current);
  const rolledBack = target.version !== latest.version;
  await patchTag(adapter, {
    namespace,
    name: source.name,
    tag: target.version,
    clock: options.clock,
    logger: options.logger,
    signal: options.signal,
    // Back to the newest version is no rollback any more: the mark goes.
    annotations: { [ROLLED_BACK_ANNOTATION]: rolledBack ? latest.version : null },
  });
  options.logger.info('rolled back source', { source: source.name, from: current, to: target.version });
  const request = createRequest({
    id: randomUUID(),
    mode: 'Manual',
    requestedAt: new Date(options.clock.now()).toISOString(),
    targets: [ref, { kind: 'Kustomization', namespace, name: source.name }],
    expected: { [source.name]: { tag: target.version, digest: target.digest } },
    origin: 'trigger',
  });
  const [outcome] = await reconcileRequest(adapter, request, {
    clock: options.clock,
    logger: options.logger,
    tokens: options.tokens,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  const base = {
    source: source.name,
    ...(current === undefined ? {} : { from: current }),
    to: target.version,
    latest: latest.version,
  };
  if (outcome?.ok) return { ...base, outcome: 'succeeded', revision: outcome.revision };
  return {
    ...base,
    outcome: 'failed',
    error: outcome?.error.message ?? 'no reconcile outcome',
    code: outcome?.error.code ?? 'internal',
  };
};
