import type { Clock } from '../clock.js';
import { describeError, KsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Evaluation } from './evaluate.js';
import { describeRef, type FluxKind } from './kinds.js';
import type { KubeAdapter, WatchHandle } from './kube-adapter.js';
import type { KubeObject } from './kube-object.js';

export interface WaitOptions {
  adapter: Pick<KubeAdapter, 'get' | 'watch'>;
  ref: { kind: FluxKind; namespace: string; name: string };
  evaluate: (object: KubeObject | undefined) => Evaluation;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal | undefined;
  /** Poll period once watching has failed twice in a row. */
  pollIntervalMs?: number;
}

/** A watch that closes normally after living this long was healthy; a quicker close counts as a failure. */
const HEALTHY_WATCH_MS = 1000;
const WATCH_FAILURES_BEFORE_POLLING = 2;

export const formatMs = (ms: number): string =>
  ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;

/**
 * Waits until `evaluate` says done (resolves with the revision) or failed (rejects `reconcile-failed`), or the
 * timeout passes (rejects `reconcile-timeout` with what it last saw). Watches the object and re-reads it after
 * every (re)connect so no change is missed; after two failed watches in a row it polls instead.
 */
export const waitForObject = (options: WaitOptions): Promise<string> => {
  const { adapter, ref, clock, logger } = options;
  const what = describeRef(ref);
  const timers = new AbortController();
  let lastSeen = 'nothing yet';
  let settled = false;
  let watch: WatchHandle | undefined;
  let wake: () => void = () => undefined;
  const settledSignal = new Promise<void>((resolve) => {
    wake = resolve;
  });

  return new Promise<string>((resolve, reject) => {
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      watch?.stop();
      timers.abort();
      options.signal?.removeEventListener('abort', onAbort);
      wake();
      finish();
    };
    const check = (object: KubeObject | undefined): void => {
      if (settled) return;
      const result = options.evaluate(object);
      if (result.state === 'pending') lastSeen = result.seen;
      else if (result.state === 'done') settle(() => resolve(result.revision));
      else settle(() => reject(verdictError(ref, result)));
    };
    const onAbort = (): void =>
      settle(() => reject(new KsailError('aborted', `waiting for ${what} was cancelled`)));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    clock.sleep(options.timeoutMs, timers.signal).then(
      () => settle(() => reject(timeoutError(what, options.timeoutMs, lastSeen))),
      () => undefined,
    );

    /** One watch connection: resolves with whether it failed once it closes (or the wait settles). */
    const watchOnce = async (): Promise<boolean> => {
      let closeWith: (error: unknown) => void = () => undefined;
      const closed = new Promise<unknown>((resolveClose) => {
        closeWith = resolveClose;
      });
      watch = await adapter.watch(ref.kind, ref.namespace, ref.name, {
        onObject: (object, deleted) => check(deleted ? undefined : object),
        onClose: (error) => closeWith(error ?? null),
      });
      const connectedAt = clock.now();
      if (settled) watch.stop();
      else {
        try {
          check(await adapter.get(ref.kind, ref.namespace, ref.name));
        } catch (error) {
          // The next attempt opens a new watch and overwrites this handle: close this one first.
          watch.stop();
          throw error;
        }
      }
      const error = await Promise.race([closed, settledSignal.then(() => null)]);
      if (settled) return false;
      if (error !== null) logger.debug('flux watch failed', { object: what, error: describeError(error) });
      return error !== null || clock.now() - connectedAt < HEALTHY_WATCH_MS;
    };

    const run = async (): Promise<void> => {
      let failures = 0;
      while (!settled && failures < WATCH_FAILURES_BEFORE_POLLING) {
        try {
          failures = (await watchOnce()) ? failures + 1 : 0;
        } catch (error) {
          failures += 1;
          lastSeen = `error: ${describeError(error)}`;
          logger.debug('flux watch could not start', { object: what, error: describeError(error) });
        }
      }
      if (!settled) logger.debug('flux watch keeps failing; polling', { object: what });
      while (!settled) {
        try {
          check(await adapter.get(ref.kind, ref.namespace, ref.name));
        } catch (error) {
          lastSeen = `error: ${describeError(error)}`;
        }
        if (settled) break;
        await clock.sleep(options.pollIntervalMs ?? 2000, timers.signal).catch(() => undefined);
      }
    };
    run().catch((error: unknown) =>
      settle(() => reject(error instanceof Error ? error : new KsailError('internal', describeError(error)))),
    );
  });
};

/** What the user must do about Flux's verdict; Flux's own words (reason, message) stay in the message. */
const verdictError = (
  ref: WaitOptions['ref'],
  result: Exclude<Evaluation, { state: 'pending' | 'done' }>,
): KsailError => {
  const what = describeRef(ref);
  const again = `\`ksail-fluxd reconcile ${ref.name}\``;
  switch (result.state) {
    case 'suspended': {
      // Like `flux reconcile`, which refuses a suspended object ("resource is suspended") before annotating it.
      const kind = ref.kind === 'OCIRepository' ? 'source oci' : 'kustomization';
      return new KsailError(
        'flux-suspended',
        `${what} is suspended (spec.suspend: true), so Flux fetches and applies nothing; resume it with \`flux resume ${kind} ${ref.name} -n ${ref.namespace}\`, then run ${again}`,
        { details: { object: what } },
      );
    }
    case 'superseded':
      return new KsailError(
        'reconcile-superseded',
        result.by === undefined
          ? `${what} moved on to a newer version held for the next reconcile; run ${again} to apply it`
          : `${what} moved on to ${result.by}, a newer version; Flux reconciles that one instead`,
        { details: { object: what, ...(result.by === undefined ? {} : { supersededBy: result.by }) } },
      );
    case 'failed': {
      const retry = result.retrying
        ? `Flux keeps retrying ${ref.kind === 'OCIRepository' ? 'with backoff' : 'every spec.retryInterval'}, so fixing the cause is enough (or run ${again} to retry now)`
        : `Flux stopped retrying (Stalled): fix the cause, then run ${again}`;
      return new KsailError(
        'reconcile-failed',
        `Flux could not reconcile ${what}: ${result.reason}${result.message ? `: ${result.message.trimEnd()}` : ''}; ${retry}`,
        {
          details: {
            object: what,
            reason: result.reason,
            fluxMessage: result.message,
            retrying: result.retrying,
          },
        },
      );
    }
  }
};

const timeoutError = (what: string, timeoutMs: number, lastSeen: string): KsailError =>
  new KsailError(
    'reconcile-timeout',
    `${what} was not reconciled within ${formatMs(timeoutMs)}; last seen: ${lastSeen}; check the Flux controllers (\`flux check\`, \`flux logs\`) or raise flux.reconcileTimeout (--timeout)`,
    { details: { object: what, timeoutMs, lastSeen } },
  );
