import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { describeRef } from './kinds.js';
import type { KubeAdapter } from './kube-adapter.js';
import { withClusterRetry } from './retry.js';

/**
 * Manual mode holds what Flux applies. Moving an OCIRepository's tag is a spec change, and Flux reconciles every
 * spec change at once: the source-controller fetches the new tag and the kustomize-controller applies it. So
 * before the daemon moves a tag in Manual mode it suspends the source's Kustomization, and a reconcile resumes
 * it. The annotation marks a suspension as ours: one the user made (`flux suspend kustomization`) is left alone.
 */
export const HELD_ANNOTATION = 'io.ksail-fluxd/held';

export interface HoldOptions {
  namespace: string;
  /** The source: its Kustomization has the same name. */
  name: string;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

type Adapter = Pick<KubeAdapter, 'get' | 'mergePatch'>;

const patch = async (adapter: Adapter, options: HoldOptions, held: boolean): Promise<void> => {
  const ref = { kind: 'Kustomization' as const, namespace: options.namespace, name: options.name };
  await withClusterRetry(
    () =>
      adapter.mergePatch(ref.kind, ref.namespace, ref.name, {
        // null removes the fields again (RFC 7386): the object is back to what ksail-fluxd applies.
        metadata: { annotations: { [HELD_ANNOTATION]: held ? 'true' : null } },
        spec: { suspend: held ? true : null },
      }),
    {
      clock: options.clock,
      logger: options.logger,
      what: `${held ? 'holding' : 'releasing'} ${describeRef(ref)}`,
      signal: options.signal,
    },
  );
};

/**
 * Suspends the Kustomization so that a tag move is not applied until the next reconcile. Returns false when there
 * is nothing to hold: no Kustomization yet (it is created at the tag and applied, like `ksail-fluxd apply`), or
 * one the user suspended.
 */
export const holdKustomization = async (adapter: Adapter, options: HoldOptions): Promise<boolean> => {
  const current = await adapter.get('Kustomization', options.namespace, options.name);
  if (!current) return false;
  const held = current.metadata.annotations?.[HELD_ANNOTATION] === 'true';
  if (held) return true;
  if (current.spec?.suspend === true) return false;
  await patch(adapter, options, true);
  return true;
};

/** Resumes a Kustomization that `holdKustomization` suspended; returns whether it was held. */
export const releaseKustomization = async (adapter: Adapter, options: HoldOptions): Promise<boolean> => {
  const current = await adapter.get('Kustomization', options.namespace, options.name);
  if (current?.metadata.annotations?.[HELD_ANNOTATION] !== 'true') return false;
  await patch(adapter, options, false);
  options.logger.debug('released held Kustomization', { namespace: options.namespace, name: options.name });
  return true;
};
