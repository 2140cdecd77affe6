import { KsailError } from '../errors.js';

/**
 * Go/Kubernetes duration strings (`1m`, `30s`, `1h30m`, `500ms`), as Flux's `spec.interval` takes them.
 * Flux's CRDs use the pattern `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`.
 */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration string; throws `model-invalid` with the allowed form. */
export const parseDuration = (value: string, what = 'duration'): number => {
  if (!DURATION_PATTERN.test(value)) {
    throw new KsailError(
      'model-invalid',
      `${what} "${value}" is not a duration; use a number with a unit ms, s, m or h, for example 30s, 1m or 1h30m`,
    );
  }
  let total = 0;
  for (const match of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 0);
  }
  return total;
};

/** Data model rule: the reconciliation interval MUST be > 0. Returns the milliseconds. */
export const assertPositiveInterval = (value: string, what = 'fluxInterval'): number => {
  const ms = parseDuration(value, what);
  if (ms <= 0) {
    throw new KsailError('model-invalid', `${what} "${value}" must be greater than 0; use for example 1m`);
  }
  return ms;
};
