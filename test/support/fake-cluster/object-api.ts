import { randomBytes, randomUUID } from 'node:crypto';
import {
  ApiStatusError,
  alreadyExists,
  forbidden,
  invalid,
  namespaceNotFound,
  notFound,
  staleConflict,
} from './api-status.js';
import type { FieldScope } from './field-sets.js';
import type { Actor } from './managed-fields.js';
import { recordUpdate } from './managed-fields.js';
import { CRD_TYPE, NAMESPACE_TYPE, establish, findTypeByKind, servedTypes } from './resource-types.js';
import type { ObjectStore } from './store.js';
import type { JsonObject, KObject, ResourceType } from './types.js';
import { apiVersionOf, clone, deepEqual, isObject, qualifiedResource, timestamp } from './types.js';
import { admit, internalError } from './validation.js';

/**
 * The write semantics of the API server, shared by the HTTP layer and the emulated controllers: create,
 * update (optionally of the status subresource), delete with finalizers, generation and managedFields
 * bookkeeping, optimistic concurrency, and no-op detection (an unchanged write stores nothing).
 */
export interface WriteOptions {
  /** fieldManager query parameter; Update operations fall back to the user agent's product token. */
  fieldManager?: string;
  userAgent?: string;
  dryRun?: boolean;
  subresource?: 'status';
  /** `Strict` rejects fields the schema prunes (400), as `fieldValidation=Strict` does. */
  fieldValidation?: string;
}

export const scopeOf = (type: ResourceType, subresource?: string): FieldScope =>
  subresource === 'status' ? 'status' : type.statusSubresource ? 'main' : 'all';

export const updateActor = (options: WriteOptions): Actor => ({
  manager: options.fieldManager ?? (options.userAgent?.split('/')[0] || 'unknown'),
  operation: 'Update',
  ...(options.subresource ? { subresource: options.subresource } : {}),
});

/** Everything that counts as "spec" for metadata.generation: all but metadata (and status, if separate). */
const specOf = (type: ResourceType, object: KObject): JsonObject => {
  const { metadata: _metadata, status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return type.statusSubresource ? rest : { ...rest, status };
};

const SYSTEM_FIELDS = [
  'name',
  'namespace',
  'uid',
  'creationTimestamp',
  'generation',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'resourceVersion',
] as const;

export class ObjectApi {
  constructor(readonly store: ObjectStore) {}

  types(): ResourceType[] {
    return servedTypes(this.store.list(CRD_TYPE.group, CRD_TYPE.kind));
  }

  typeOf(apiVersion: string, kind: string): ResourceType | undefined {
    return findTypeByKind(this.types(), apiVersion, kind);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KObject {
    const object = this.store.get(type.group, type.kind, type.namespaced ? namespace : undefined, name);
    if (!object) throw notFound(type, name);
    return object;
  }

  find(type: ResourceType, namespace: string | undefined, name: string): KObject | undefined {
    return this.store.get(type.group, type.kind, type.namespaced ? namespace : undefined, name);
  }

  private requireNamespace(type: ResourceType, namespace: string | undefined, name: string): void {
    if (!type.namespaced) return;
    if (!namespace)
      throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource');
    const found = this.store.get('', 'Namespace', undefined, namespace);
    if (!found) throw namespaceNotFound(namespace);
    if (found.metadata.deletionTimestamp) {
      throw forbidden(
        `${qualifiedResource(type)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  /** Creates `object` (identity already checked against the URL). `managed` presets managedFields (apply). */
  create(
    type: ResourceType,
    object: KObject,
    options: WriteOptions,
    managed?: KObject['metadata']['managedFields'],
  ): KObject {
    const candidate = clone(object);
    const meta = candidate.metadata;
    if (!meta.name && meta.generateName)
      meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (!meta.name) {
      throw invalid(type, '', [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ]);
    }
    this.requireNamespace(type, meta.namespace, meta.name);
    if (this.find(type, meta.namespace, meta.name)) throw alreadyExists(type, meta.name);
    if (meta.resourceVersion)
      throw internalError('resourceVersion should not be set on objects to be created');
    if (type.statusSubresource) delete candidate['status'];
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    if (type.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    delete meta.deletionTimestamp;
    if (type.kind === 'Namespace') {
      meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name };
      candidate['spec'] = { finalizers: ['kubernetes'] };
      candidate['status'] = { phase: 'Active' };
    }
    let admitted = admit(type, candidate, options.fieldValidation === 'Strict');
    if (type.kind === 'CustomResourceDefinition') admitted = establish(admitted);
    admitted.metadata.managedFields =
      managed ?? recordUpdate(undefined, admitted, updateActor(options), scopeOf(type, options.subresource));
    if (!admitted.metadata.managedFields.length) delete admitted.metadata.managedFields;
    return options.dryRun ? admitted : this.store.put(admitted);
  }

  /**
   * Stores `candidate` as the new state of the existing object. `managed` presets managedFields (apply);
   * otherwise an Update by the request's manager is recorded.
   */
  update(
    type: ResourceType,
    candidate: KObject,
    options: WriteOptions,
    managed?: KObject['metadata']['managedFields'],
  ): KObject {
    const name = candidate.metadata.name ?? '';
    const old = this.get(type, candidate.metadata.namespace, name);
    const requested = candidate.metadata.resourceVersion;
    if (requested && requested !== old.metadata.resourceVersion) throw staleConflict(type, name);
    let next: KObject;
    if (options.subresource === 'status') {
      next = clone(old);
      if (candidate['status'] === undefined) delete next['status'];
      else next['status'] = clone(candidate['status']);
    } else {
      next = clone(candidate);
      if (type.statusSubresource) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = clone(old['status']);
      }
    }
    for (const field of SYSTEM_FIELDS) {
      if (old.metadata[field] === undefined) delete next.metadata[field];
      else (next.metadata as JsonObject)[field] = old.metadata[field];
    }
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    next = admit(type, next, options.fieldValidation === 'Strict');
    if (type.tracksGeneration && !deepEqual(specOf(type, old), specOf(type, next))) {
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    next.metadata.managedFields =
      managed ?? recordUpdate(old, next, updateActor(options), scopeOf(type, options.subresource));
    if (!next.metadata.managedFields.length) delete next.metadata.managedFields;
    if (deepEqual(old, next)) return old;
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      if (options.dryRun) return next;
      return this.finalize(type, next);
    }
    return options.dryRun ? next : this.store.put(next);
  }

  /**
   * Deletes an object: with finalizers it only gets a deletionTimestamp (200 with the object); otherwise it is
   * removed. Returns the object, or a Success Status for the kinds whose real REST storage returns one.
   */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: WriteOptions & { resourceVersion?: string },
  ): JsonObject {
    const old = this.get(type, namespace, name);
    if (options.resourceVersion && options.resourceVersion !== old.metadata.resourceVersion) {
      throw new ApiStatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": Precondition failed: ResourceVersion in precondition: ${options.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`,
      );
    }
    if (options.dryRun) return old;
    if (type.kind === 'Namespace') return this.terminateNamespace(old);
    if (old.metadata.finalizers?.length) {
      if (old.metadata.deletionTimestamp) return old;
      const marked = clone(old);
      marked.metadata.deletionTimestamp = timestamp();
      marked.metadata.deletionGracePeriodSeconds = 0;
      // apiserver rest.BeforeDelete: a graceful deletion bumps the generation (controllers see a new generation).
      if (type.tracksGeneration && marked.metadata.generation !== undefined) marked.metadata.generation += 1;
      return this.store.put(marked);
    }
    const deleted = this.finalize(type, old);
    if (type.custom || type.kind === 'CustomResourceDefinition') return deleted;
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name,
        ...(type.group ? { group: type.group } : {}),
        kind: type.plural,
        uid: old.metadata.uid,
      },
    };
  }

  /** Removes the object for good; a removed CRD takes its custom resources with it, as for real. */
  private finalize(type: ResourceType, object: KObject): KObject {
    const deleted = this.store.remove(object) ?? object;
    if (type.kind === 'CustomResourceDefinition') {
      const spec = isObject(object['spec']) ? object['spec'] : {};
      const names = isObject(spec['names']) ? spec['names'] : {};
      for (const item of this.store.list(String(spec['group']), String(names['kind'])))
        this.store.remove(item);
    }
    return deleted;
  }

  /** Namespace deletion: Terminating now, contents deleted, then the namespace goes once it is empty. */
  private terminateNamespace(namespace: KObject): KObject {
    if (namespace.metadata.deletionTimestamp) return namespace;
    const marked = clone(namespace);
    marked.metadata.deletionTimestamp = timestamp();
    marked['status'] = { phase: 'Terminating' };
    const stored = this.store.put(marked);
    setImmediate(() => this.drainNamespace(namespace.metadata.name ?? ''));
    return stored;
  }

  /** Deletes what is left in a terminating namespace; called again on changes until it is empty. */
  drainNamespace(name: string): void {
    const namespace = this.store.get('', 'Namespace', undefined, name);
    if (!namespace?.metadata.deletionTimestamp) return;
    const contents = this.types()
      .filter((type) => type.namespaced)
      .flatMap((type) => this.store.list(type.group, type.kind, name).map((object) => ({ type, object })));
    for (const { type, object } of contents) {
      if (!object.metadata.deletionTimestamp) this.delete(type, name, object.metadata.name ?? '', {});
    }
    if (!this.hasContents(name)) this.store.remove(namespace);
  }

  private hasContents(namespace: string): boolean {
    return this.types().some(
      (type) => type.namespaced && this.store.list(type.group, type.kind, namespace).length,
    );
  }

  /** The namespace type, for callers that create namespaces. */
  static readonly namespaceType = NAMESPACE_TYPE;
}
