import type { Clock } from '../clock.js';
import { KsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeRef } from './kinds.js';
import type { KubeAdapter } from './kube-adapter.js';
import { httpStatusOf } from './kube-errors.js';
import type { RetryPolicy } from '../retry.js';
import { withClusterRetry } from './retry.js';

export interface PatchTagOptions {
  namespace: string;
  name: string;
  tag: string;
  clock: Clock;
  logger: Logger;
  /**
   * Called when the OCIRepository was deleted (404): re-creates it (by applying the generated object) with `tag`.
   * Without it, a missing object is an error.
   */
  recreate?: (tag: string) => Promise<void>;
  retry?: RetryPolicy;
  signal?: AbortSignal | undefined;
  /** Annotations to set (or, with null, remove) in the same patch: the rollback mark (ROLLED_BACK_ANNOTATION). */
  annotations?: Record<string, string | null> | undefined;
}

export interface PatchTagResult {
  outcome: 'patched' | 'recreated';
  /** Attempts of the write that succeeded. */
  attempts: number;
}

/**
 * Points an OCIRepository at a new tag with a JSON merge patch of `spec.ref.tag` only, so no other field (and no
 * other manager's field) is touched. Transient failures are retried with backoff; a deleted object is re-created.
 */
export const patchTag = async (
  adapter: Pick<KubeAdapter, 'mergePatch'>,
  options: PatchTagOptions,
): Promise<PatchTagResult> => {
  const { namespace, name, tag } = options;
  const what = describeRef({ kind: 'OCIRepository', namespace, name });
  const retry = {
    clock: options.clock,
    logger: options.logger,
    policy: options.retry,
    signal: options.signal,
  };
  try {
    const { attempts } = await withClusterRetry(
      () =>
        adapter.mergePatch('OCIRepository', namespace, name, {
          ...(options.annotations ? { metadata: { annotations: options.annotations } } : {}),
          spec: { ref: { tag } },
        }),
      { ...retry, what: `tag patch of ${what}` },
    );
    options.logger.info('patched OCIRepository tag', { namespace, name, tag, attempts });
    return { outcome: 'patched', attempts };
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
    if (!options.recreate) {
      throw new KsailError(
        'cluster-http',
        `${what} does not exist, so its tag cannot be set to ${tag}; run \`ksail-fluxd apply\` to create it`,
        { cause: error, details: { status: 404 } },
      );
    }
    const recreate = options.recreate;
    const { attempts } = await withClusterRetry(() => recreate(tag), {
      ...retry,
      what: `re-creating ${what}`,
    });
    options.logger.info('re-created deleted OCIRepository', { namespace, name, tag });
    return { outcome: 'recreated', attempts };
  }
};
