import { createLimiter } from '../concurrency.js';
import type { Clock } from '../clock.js';
import { describeError, isKsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sortVersionsDescending } from '../model/oci-artifact.js';
import type { RegistryClient } from './client/client.js';
import { withGcLock } from './runtime/lock.js';
import type { RegistryRuntime } from './runtime/types.js';

export interface TaggedManifest {
  tag: string;
  /** Undefined when the tag vanished between listing and HEAD. */
  digest: string | undefined;
}

export interface PrunePlan {
  /** Versions kept, highest first. */
  kept: string[];
  /** Manifests to delete; deleting a manifest removes every tag that points at it. */
  delete: Array<{ digest: string; tags: string[] }>;
  skipped: Array<{ tag: string; reason: string }>;
}

/**
 * Which manifests to delete (FR-018): all but the `keep` highest semver versions, never the highest one nor those
 * in use. Non-semver tags are untouched, and since deleting a manifest deletes all its tags, a manifest that a kept
 * or non-semver tag also points at is skipped.
 */
export const planPrune = (
  tags: readonly TaggedManifest[],
  keep: number,
  inUse: readonly string[] = [],
): PrunePlan => {
  const versions = sortVersionsDescending(tags.map((t) => t.tag));
  const kept = new Set(versions.slice(0, Math.max(1, keep)));
  for (const version of inUse) if (versions.includes(version)) kept.add(version);
  const digestOf = new Map(tags.map((t) => [t.tag, t.digest]));
  const semverTags = new Set(versions);
  const protectedBy = new Map<string, string>();
  for (const { tag, digest } of tags) {
    if (digest && (kept.has(tag) || !semverTags.has(tag)) && !protectedBy.has(digest))
      protectedBy.set(digest, tag);
  }
  const skipped: PrunePlan['skipped'] = [];
  const byDigest = new Map<string, string[]>();
  for (const version of versions.filter((v) => !kept.has(v))) {
    const digest = digestOf.get(version);
    const keeper = digest === undefined ? undefined : protectedBy.get(digest);
    if (digest === undefined) skipped.push({ tag: version, reason: 'tag disappeared while pruning' });
    else if (keeper !== undefined)
      skipped.push({ tag: version, reason: `same manifest as kept tag ${keeper}` });
    else byDigest.set(digest, [...(byDigest.get(digest) ?? []), version]);
  }
  return {
    kept: versions.filter((v) => kept.has(v)),
    delete: [...byDigest].map(([digest, deleteTags]) => ({ digest, tags: deleteTags })),
    skipped,
  };
};

export interface PruneOptions {
  repository: string;
  keep: number;
  /** Versions the cluster uses, when known; never deleted. */
  inUse?: readonly string[];
  client: RegistryClient;
  /** Runs garbage collection and measures storage; without it only manifests are deleted. */
  runtime?: RegistryRuntime;
  /** registryLockDir(env, name): shared with publishers so GC never runs during a push. */
  lockDir: string;
  clock: Clock;
  logger: Logger;
}

export interface PruneResult extends PrunePlan {
  repository: string;
  garbageCollected: boolean;
  /** Why garbage was not collected (e.g. an external registry); the manifests are deleted regardless. */
  gcNote?: string;
  bytesBefore?: number;
  bytesAfter?: number;
  bytesReclaimed?: number;
}

/** HEAD requests in flight while resolving tags to digests. */
const HEAD_CONCURRENCY = 8;

/** Deletes old versions of one repository, then reclaims blob storage with garbage collection under the GC lock. */
export const pruneRepository = (options: PruneOptions): Promise<PruneResult> => {
  const { client, repository, runtime, logger } = options;
  return withGcLock(
    options.lockDir,
    async () => {
      const tags = await client.listTags(repository);
      const limit = createLimiter(HEAD_CONCURRENCY);
      const manifests = await Promise.all(
        tags.map((tag) =>
          limit(async () => ({ tag, digest: (await client.headManifest(repository, tag))?.digest })),
        ),
      );
      const plan = planPrune(manifests, options.keep, options.inUse);
      const result: PruneResult = { repository, ...plan, garbageCollected: false };
      if (plan.delete.length === 0) return result;
      const bytesBefore = await runtime?.storageBytes();
      for (const { digest, tags: deleted } of plan.delete) {
        await client.deleteManifest(repository, digest);
        logger.info('manifest deleted', { repository, digest, tags: deleted });
      }
      if (!runtime) return { ...result, gcNote: 'no registry runtime: garbage was not collected' };
      try {
        await runtime.garbageCollect();
        result.garbageCollected = true;
      } catch (error) {
        if (!isKsailError(error, 'unsupported')) throw error;
        result.gcNote = describeError(error);
      }
      const bytesAfter = await runtime.storageBytes();
      if (bytesBefore !== undefined) result.bytesBefore = bytesBefore;
      if (bytesAfter !== undefined) result.bytesAfter = bytesAfter;
      if (bytesBefore !== undefined && bytesAfter !== undefined)
        result.bytesReclaimed = Math.max(0, bytesBefore - bytesAfter);
      return result;
    },
    { clock: options.clock },
  );
};
