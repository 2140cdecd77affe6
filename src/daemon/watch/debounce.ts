import type { Clock } from '../../clock.js';

export interface DebounceOptions {
  /** Fire once no poke arrived for this long. */
  quietMs: number;
  /** ...or this long after the first poke of a burst, so a file rewritten continuously still ships. */
  maxWaitMs: number;
  clock: Pick<Clock, 'after'>;
  onFire: () => void;
}

export interface Debouncer {
  poke(): void;
  cancel(): void;
  /** Whether a fire is scheduled. */
  readonly pending: boolean;
}

/** Batches a burst of file events into one wake-up: quiet period with a cap. */
export const createDebouncer = (options: DebounceOptions): Debouncer => {
  let cancelQuiet: (() => void) | undefined;
  let cancelCap: (() => void) | undefined;
  const cancel = (): void => {
    cancelQuiet?.();
    cancelCap?.();
    cancelQuiet = undefined;
    cancelCap = undefined;
  };
  const fire = (): void => {
    cancel();
    options.onFire();
  };
  return {
    poke: () => {
      cancelQuiet?.();
      cancelQuiet = options.clock.after(options.quietMs, fire);
      cancelCap ??= options.clock.after(Math.max(options.maxWaitMs, options.quietMs), fire);
    },
    cancel,
    get pending() {
      return cancelQuiet !== undefined;
    },
  };
};
