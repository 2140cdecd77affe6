import type { JsonObject } from './types.js';

/**
 * Flux's condition helpers (fluxcd/pkg/runtime/conditions) on a status object: `Set` (setter.go Set),
 * `Delete`, `ProgressiveStatus` (runtime/reconcile/result.go) and the Ready summary (`SetSummary`, merge.go
 * `merge`/`getConditionGroups`, merge_strategies.go `getFirstCondition`).
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export type ConditionState = Omit<Condition, 'type' | 'observedGeneration' | 'lastTransitionTime'>;

/** setter.go conditionWeights: Stalled, Reconciling, Ready first, then highest observedGeneration, then type. */
const WEIGHTS: Record<string, number> = { Stalled: 0, Reconciling: 1, Ready: 2 };

const lexicographicLess = (a: Condition, b: Condition): number => {
  const [wa, wb] = [WEIGHTS[a.type], WEIGHTS[b.type]];
  if (wa !== undefined && wb !== undefined) return wa - wb;
  if (wa !== undefined) return -1;
  if (wb !== undefined) return 1;
  if (a.observedGeneration === b.observedGeneration) return a.type.localeCompare(b.type);
  return (b.observedGeneration ?? 0) - (a.observedGeneration ?? 0);
};

/** metav1.Now truncated to the second, as `conditions.Set` stamps it. */
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export const conditionsOf = (status: JsonObject): Condition[] =>
  Array.isArray(status['conditions']) ? (status['conditions'] as Condition[]) : [];

export const getCondition = (status: JsonObject, type: string): Condition | undefined =>
  conditionsOf(status).find((entry) => entry.type === type);

export const isStatus = (status: JsonObject, type: string, value: Condition['status']): boolean =>
  getCondition(status, type)?.status === value;

/**
 * `conditions.Set`: always stamps the object's generation; lastTransitionTime moves only when status, reason or
 * message change (hasSameState).
 */
export const setCondition = (
  status: JsonObject,
  type: string,
  state: ConditionState,
  generation: number,
): void => {
  const conditions = conditionsOf(status);
  const existing = conditions.find((entry) => entry.type === type);
  const same =
    existing?.status === state.status &&
    existing.reason === state.reason &&
    existing.message === state.message;
  const next: Condition = {
    type,
    ...state,
    observedGeneration: generation,
    lastTransitionTime: same && existing.lastTransitionTime ? existing.lastTransitionTime : now(),
  };
  status['conditions'] = [...conditions.filter((entry) => entry.type !== type), next].sort(lexicographicLess);
};

export const removeCondition = (status: JsonObject, type: string): void => {
  if (!Array.isArray(status['conditions'])) return;
  status['conditions'] = conditionsOf(status).filter((entry) => entry.type !== type);
};

/**
 * `ProgressiveStatus`: Reconciling=True with the message; Ready=Unknown with the same reason and message only on
 * drift or when Ready is missing or already Unknown (so a no-op run keeps Ready=True).
 */
export const progressiveStatus = (
  status: JsonObject,
  drift: boolean,
  reason: string,
  message: string,
  generation: number,
): void => {
  setCondition(status, 'Reconciling', { status: 'True', reason, message }, generation);
  const ready = getCondition(status, 'Ready');
  if (drift || !ready || ready.status === 'Unknown') {
    setCondition(status, 'Ready', { status: 'Unknown', reason, message }, generation);
  }
};

/** How `SetSummary` computes a target condition from the conditions in scope. */
export interface SummaryOptions {
  /** The conditions in scope, in priority order (the reason and message come from the first of the top group). */
  conditions: readonly string[];
  negativePolarity: readonly string[];
}

/**
 * merge.go: group the in-scope conditions by (status, polarity), take the group with the highest merge priority
 * (negative True, positive False, positive True, negative False, Unknown), and copy the reason and message of its
 * first condition in priority order; the status is inverted for negative-polarity groups. No conditions in scope:
 * the target is left alone.
 */
export const setSummary = (
  status: JsonObject,
  target: string,
  options: SummaryOptions,
  generation: number,
): void => {
  const inScope = options.conditions
    .map((type) => getCondition(status, type))
    .filter((entry): entry is Condition => entry !== undefined);
  if (!inScope.length) return;
  const priority = (entry: Condition): number => {
    const negative = options.negativePolarity.includes(entry.type);
    if (entry.status === 'True') return negative ? 0 : 2;
    if (entry.status === 'False') return negative ? 3 : 1;
    return 4;
  };
  const top = Math.min(...inScope.map(priority));
  const first = inScope.find((entry) => priority(entry) === top) as Condition;
  const targetStatus = top === 4 ? 'Unknown' : top === 0 || top === 1 ? 'False' : 'True';
  setCondition(
    status,
    target,
    { status: targetStatus, reason: first.reason, message: first.message },
    generation,
  );
};
