import type { JsonObject, KObject, ResourceType } from './types.js';
import { isObject, timestamp } from './types.js';

/**
 * The built-in resources the fake serves. Like a real API server, which of them keep `metadata.generation`
 * and which have a `/status` subresource follows the real types: ConfigMaps and Secrets have neither.
 */
const builtin = (
  group: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  options: Partial<Pick<ResourceType, 'statusSubresource' | 'tracksGeneration' | 'shortNames'>> = {},
): ResourceType => ({
  group,
  version: 'v1',
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  statusSubresource: options.statusSubresource ?? false,
  tracksGeneration: options.tracksGeneration ?? false,
  custom: false,
  ...(options.shortNames ? { shortNames: options.shortNames } : {}),
});

export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin('', 'Namespace', 'namespaces', false, { statusSubresource: true, shortNames: ['ns'] }),
  builtin('', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  builtin('', 'Secret', 'secrets', true),
  builtin('', 'Service', 'services', true, { statusSubresource: true, shortNames: ['svc'] }),
  builtin('', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  builtin('apps', 'Deployment', 'deployments', true, {
    statusSubresource: true,
    tracksGeneration: true,
    shortNames: ['deploy'],
  }),
  builtin('apiextensions.k8s.io', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    statusSubresource: true,
    tracksGeneration: true,
    shortNames: ['crd', 'crds'],
  }),
];

export const CRD_TYPE = BUILTIN_TYPES.find((type) => type.kind === 'CustomResourceDefinition')!;
export const NAMESPACE_TYPE = BUILTIN_TYPES.find((type) => type.kind === 'Namespace')!;

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;

/** The served versions of a CRD object in the store, as resource types (an unserved version 404s). */
export const typesFromCrd = (crd: KObject): ResourceType[] => {
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const group = typeof spec['group'] === 'string' ? spec['group'] : '';
  const kind = typeof names['kind'] === 'string' ? names['kind'] : '';
  const plural = typeof names['plural'] === 'string' ? names['plural'] : '';
  if (!group || !kind || !plural || crd.metadata.deletionTimestamp) return [];
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  return versions
    .filter((version) => version['served'] === true && typeof version['name'] === 'string')
    .map((version): ResourceType => {
      const subresources = isObject(version['subresources']) ? version['subresources'] : {};
      const schemaHolder = isObject(version['schema']) ? version['schema'] : {};
      const schema = isObject(schemaHolder['openAPIV3Schema']) ? schemaHolder['openAPIV3Schema'] : undefined;
      const shortNames = strings(names['shortNames']);
      const categories = strings(names['categories']);
      return {
        group,
        version: version['name'] as string,
        kind,
        plural,
        singular: typeof names['singular'] === 'string' ? names['singular'] : kind.toLowerCase(),
        namespaced: spec['scope'] !== 'Cluster',
        statusSubresource: isObject(subresources['status']),
        tracksGeneration: true,
        custom: true,
        ...(shortNames ? { shortNames } : {}),
        ...(categories ? { categories } : {}),
        ...(schema ? { schema } : {}),
      };
    });
};

/** All served types: the built-ins plus every established CRD in the store. */
export const servedTypes = (crds: readonly KObject[]): ResourceType[] => [
  ...BUILTIN_TYPES,
  ...crds.flatMap(typesFromCrd),
];

export const findType = (
  types: readonly ResourceType[],
  group: string,
  version: string,
  plural: string,
): ResourceType | undefined =>
  types.find((type) => type.group === group && type.version === version && type.plural === plural);

export const findTypeByKind = (
  types: readonly ResourceType[],
  apiVersion: string,
  kind: string,
): ResourceType | undefined => {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return types.find((type) => type.group === group && type.version === version && type.kind === kind);
};

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** APIResourceList for `/api/v1` or `/apis/<group>/<version>`. */
export const resourceList = (
  types: readonly ResourceType[],
  group: string,
  version: string,
): JsonObject | undefined => {
  const matching = types.filter((type) => type.group === group && type.version === version);
  if (!matching.length) return undefined;
  const resources: JsonObject[] = matching.flatMap((type) => {
    const main: JsonObject = {
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.kind === 'Namespace' ? VERBS.filter((verb) => verb !== 'deletecollection') : VERBS,
      ...(type.shortNames ? { shortNames: type.shortNames } : {}),
      ...(type.categories ? { categories: type.categories } : {}),
    };
    if (!type.statusSubresource) return [main];
    const status = {
      name: `${type.plural}/status`,
      singularName: '',
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: ['get', 'patch', 'update'],
    };
    return [main, status];
  });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
};

/** APIGroupList for `/apis`: every non-core group with its served versions. */
export const groupList = (types: readonly ResourceType[]): JsonObject => {
  const groups = new Map<string, string[]>();
  for (const type of types) {
    if (!type.group) continue;
    const versions = groups.get(type.group) ?? [];
    if (!versions.includes(type.version)) versions.push(type.version);
    groups.set(type.group, versions);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => {
      const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: list, preferredVersion: list[0] };
    }),
  };
};

/** A CRD is accepted and established as soon as it is stored, which a real API server does within a moment. */
export const establish = (crd: KObject): KObject => {
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const now = timestamp();
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  crd['status'] = {
    acceptedNames: spec['names'],
    storedVersions: versions
      .filter((version) => version['storage'] === true)
      .map((version) => version['name']),
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
  };
  return crd;
};
