/**
 * The one concurrency primitive: runs at most `concurrency` async operations at once, the others waiting in
 * order. The artifact collector shares one between directory listings and file reads; the daemon bounds builds
 * and reconciles with one each. A wait the signal aborts leaves the line and rejects with the signal's reason.
 */
export type Limiter = <T>(operation: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

export const createLimiter = (concurrency: number): Limiter => {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  const acquire = (signal: AbortSignal | undefined): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        const index = waiting.indexOf(grant);
        if (index >= 0) waiting.splice(index, 1);
        reject(signal?.reason as Error);
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  return async <T>(operation: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    if (active < concurrency) active++;
    // The slot passes straight from the releasing operation to the next one, so `active` stays accurate.
    else await acquire(signal);
    try {
      return await operation();
    } finally {
      release();
    }
  };
};

/** Runs `work` for each item, at most `concurrency` at once; results in the order of `items`. */
export const mapLimited = <T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const limit = createLimiter(Math.max(1, concurrency));
  return Promise.all(items.map((item, index) => limit(() => work(item, index))));
};
