/**
 * Runs at most `concurrency` async operations at once. The collector shares one between directory listings and file
 * reads so a large tree neither opens thousands of files at once nor reads them one by one.
 */
export type Limiter = <T>(operation: () => Promise<T>) => Promise<T>;

export const createLimiter = (concurrency: number): Limiter => {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async <T>(operation: () => Promise<T>): Promise<T> => {
    if (active < concurrency) active++;
    // The slot passes straight from the releasing operation to the next one, so `active` stays accurate.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await operation();
    } finally {
      release();
    }
  };
};
