import type { Clock } from '../../clock.js';

/** Why a wake-up came: the events went quiet, or they went on for maxWait. */
export type FireReason = 'quiet' | 'max-wait';

export interface DebounceOptions {
  /** Fire this long after a lone poke (one save: an editor's few events within a millisecond or two). */
  quietMs: number;
  /**
   * While a burst goes on, the quiet period grows with it: after a poke, the wait is as long as the burst has
   * lasted so far, at least `quietMs` and at most this. Pokes less than this apart belong to one burst.
   */
  burstQuietMs: number;
  /** ...or this long after the first poke since the last fire, so a file rewritten continuously still ships. */
  maxWaitMs: number;
  clock: Pick<Clock, 'after' | 'now'>;
  onFire: (reason: FireReason) => void;
}

export interface Debouncer {
  poke(): void;
  cancel(): void;
  /** Whether a fire is scheduled. */
  readonly pending: boolean;
}

/**
 * Batches a burst of file events into one wake-up (issue #10): a short quiet period for a lone save, extended
 * while a burst (a `git checkout`, a formatter over the tree) goes on, and capped by maxWait. A lone save thus
 * builds after `quietMs`; a burst whose gaps stay below its own length so far never fires until it ends. A build
 * that starts in a pause of a burst anyway is dropped by its pipeline when the next events arrive.
 */
export const createDebouncer = (options: DebounceOptions): Debouncer => {
  const { clock } = options;
  const longest = Math.max(options.quietMs, options.burstQuietMs);
  let cancelQuiet: (() => void) | undefined;
  let cancelCap: (() => void) | undefined;
  let burstStart = Number.NEGATIVE_INFINITY;
  let lastPoke = Number.NEGATIVE_INFINITY;
  const cancel = (): void => {
    cancelQuiet?.();
    cancelCap?.();
    cancelQuiet = undefined;
    cancelCap = undefined;
  };
  const fire = (reason: FireReason): void => {
    cancel();
    options.onFire(reason);
  };
  return {
    poke: () => {
      const now = clock.now();
      // The burst survives a fire: a build started in a pause must not shorten the wait for the rest of it.
      if (now - lastPoke >= longest) burstStart = now;
      lastPoke = now;
      const quiet = Math.min(longest, Math.max(options.quietMs, now - burstStart));
      cancelQuiet?.();
      cancelQuiet = clock.after(quiet, () => fire('quiet'));
      cancelCap ??= clock.after(Math.max(options.maxWaitMs, quiet), () => fire('max-wait'));
    },
    cancel,
    get pending() {
      return cancelQuiet !== undefined;
    },
  };
};
