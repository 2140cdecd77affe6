/**
 * The error `promise` rejected with. Fails the test when it resolves; with `type`, also when it rejected with
 * something else, by rethrowing that error so its own message and stack show.
 */
export const rejectionOf = async <T = unknown>(
  promise: Promise<unknown>,
  type?: abstract new (...args: never[]) => T,
): Promise<T> => {
  try {
    await promise;
  } catch (error) {
    if (type && !(error instanceof type)) throw error;
    return error as T;
  }
  throw new Error('expected the call to fail');
};
