import { ApiStatusError } from './api-status.js';
import type { FieldScope, FieldSet } from './field-sets.js';
import {
  decodePath,
  displayPath,
  fromFieldsV1,
  leaves,
  removeAt,
  toFieldsV1,
  valueAt,
} from './field-sets.js';
import type { JsonObject, KObject, ManagedFieldsEntry } from './types.js';
import { clone, deepEqual, isObject, timestamp } from './types.js';

/**
 * Field ownership as the API server's field manager records it in `metadata.managedFields`: one entry per
 * (manager, operation, subresource). Update operations take ownership of the fields they change (and take
 * them from others); Apply operations own exactly the fields of the applied configuration, conflict with
 * any other manager (Apply or Update) when they would change its field, and remove fields they stop applying
 * unless someone else owns them.
 */
interface Owner {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

export interface Actor {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
}

const sameActor = (entry: ManagedFieldsEntry, actor: Actor): boolean =>
  entry.manager === actor.manager &&
  entry.operation === actor.operation &&
  (entry.subresource ?? '') === (actor.subresource ?? '');

const ownersOf = (object: KObject | undefined): Owner[] =>
  (object?.metadata.managedFields ?? []).map((entry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));

const render = (
  owners: Owner[],
  actor: Actor,
  actorSet: FieldSet,
  apiVersion: string,
): ManagedFieldsEntry[] => {
  const result: ManagedFieldsEntry[] = [];
  let placed = false;
  for (const owner of owners) {
    if (sameActor(owner.entry, actor)) {
      placed = true;
      if (!actorSet.size) continue;
      const fieldsV1 = toFieldsV1(actorSet);
      const unchanged = deepEqual(fieldsV1, owner.entry.fieldsV1);
      result.push({ ...owner.entry, apiVersion, fieldsV1, time: unchanged ? owner.entry.time : timestamp() });
    } else if (owner.set.size) {
      result.push({ ...owner.entry, fieldsV1: toFieldsV1(owner.set) });
    }
  }
  if (!placed && actorSet.size) {
    result.push({
      manager: actor.manager,
      operation: actor.operation,
      apiVersion,
      time: timestamp(),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(actorSet),
      ...(actor.subresource ? { subresource: actor.subresource } : {}),
    });
  }
  return result;
};

/** managedFields after an Update (create, PUT, merge/JSON patch) turned `before` into `after`. */
export const recordUpdate = (
  before: KObject | undefined,
  after: KObject,
  actor: Actor,
  scope: FieldScope,
): ManagedFieldsEntry[] => {
  const oldLeaves = leaves(before ?? {}, scope);
  const newLeaves = leaves(after, scope);
  const touched = new Set<string>();
  for (const key of newLeaves) {
    if (
      !oldLeaves.has(key) ||
      !deepEqual(valueAt(before, decodePath(key)), valueAt(after, decodePath(key)))
    ) {
      touched.add(key);
    }
  }
  for (const key of oldLeaves) if (!newLeaves.has(key)) touched.add(key);
  const owners = ownersOf(before);
  for (const owner of owners) {
    for (const key of touched) owner.set.delete(key);
  }
  const mine = owners.find((owner) => sameActor(owner.entry, actor))?.set ?? new Set<string>();
  for (const key of touched) if (newLeaves.has(key)) mine.add(key);
  return render(owners, actor, mine, after.apiVersion);
};

/** Merges an apply configuration into the live object: maps recurse, scalars and lists replace. */
const mergeApplied = (live: unknown, applied: unknown): unknown => {
  if (!isObject(applied) || !isObject(live)) return clone(applied);
  const result: JsonObject = { ...live };
  for (const [key, value] of Object.entries(applied)) result[key] = mergeApplied(live[key], value);
  return result;
};

const conflictError = (conflicts: Map<Owner, string[]>): ApiStatusError => {
  const count = [...conflicts.values()].reduce((sum, fields) => sum + fields.length, 0);
  const describe = (owner: Owner): string =>
    `"${owner.entry.manager}"${owner.entry.operation === 'Update' ? ` using ${owner.entry.apiVersion}` : ''}${
      owner.entry.subresource ? ` with subresource "${owner.entry.subresource}"` : ''
    }`;
  const parts = [...conflicts].map(([owner, fields]) =>
    fields.length === 1
      ? `conflict with ${describe(owner)}: ${fields[0] ?? ''}`
      : `conflicts with ${describe(owner)}:\n${fields.map((field) => `- ${field}`).join('\n')}`,
  );
  const causes = [...conflicts].flatMap(([owner, fields]) =>
    fields.map((field) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${describe(owner)}`,
      field,
    })),
  );
  return new ApiStatusError(
    409,
    'Conflict',
    `Apply failed with ${count} conflict${count === 1 ? '' : 's'}: ${parts.join('\n')}`,
    { causes },
  );
};

/**
 * Server-side apply of `applied` onto `live` (undefined when creating) by `actor` (operation Apply).
 * Returns the merged object with its new managedFields, or throws a 409 listing the conflicts.
 */
export const serverSideApply = (
  live: KObject | undefined,
  applied: KObject,
  actor: Actor,
  scope: FieldScope,
  force: boolean,
): KObject => {
  const appliedSet = leaves(applied, scope);
  const owners = ownersOf(live);
  const conflicts = new Map<Owner, string[]>();
  for (const owner of owners) {
    if (sameActor(owner.entry, actor)) continue;
    for (const key of owner.set) {
      if (!appliedSet.has(key)) continue;
      const path = decodePath(key);
      if (deepEqual(valueAt(live, path), valueAt(applied, path))) continue;
      if (force) owner.set.delete(key);
      else conflicts.set(owner, [...(conflicts.get(owner) ?? []), displayPath(key)]);
    }
  }
  if (conflicts.size) throw conflictError(conflicts);
  const merged = mergeApplied(live ?? {}, applied) as KObject;
  const previous = owners.find((owner) => sameActor(owner.entry, actor))?.set ?? new Set<string>();
  for (const key of previous) {
    if (appliedSet.has(key)) continue;
    const ownedElsewhere = owners.some((owner) => !sameActor(owner.entry, actor) && owner.set.has(key));
    if (!ownedElsewhere) removeAt(merged, decodePath(key));
  }
  merged.metadata = {
    ...merged.metadata,
    managedFields: render(owners, actor, appliedSet, applied.apiVersion),
  };
  return merged;
};
