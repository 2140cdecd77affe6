import { createHash } from 'node:crypto';

/** Algorithms we can verify locally; other algorithms are passed through unverified. */
const VERIFIABLE: Readonly<Record<string, string>> = { sha256: 'sha256', sha512: 'sha512' };

/** The digest of `data` in the algorithm of `expected`, or undefined when we cannot compute that algorithm. */
export const digestLike = (expected: string, data: Uint8Array): string | undefined => {
  const algorithm = VERIFIABLE[expected.slice(0, expected.indexOf(':'))];
  return algorithm === undefined
    ? undefined
    : `${expected.slice(0, expected.indexOf(':'))}:${createHash(algorithm).update(data).digest('hex')}`;
};

/** True when `data` hashes to `expected`, or when `expected` uses an algorithm we cannot compute. */
export const matchesDigest = (expected: string, data: Uint8Array): boolean => {
  const actual = digestLike(expected, data);
  return actual === undefined || actual === expected;
};
