import { resourceNotFound } from './api-status.js';
import { findType, groupList, resourceList } from './resource-types.js';
import type { JsonObject, ResourceType } from './types.js';

/** What a request path names: a discovery document or a resource (collection, object, subresource). */
export type Route =
  | { kind: 'document'; body: JsonObject | string }
  | {
      kind: 'resource';
      type: ResourceType;
      namespace?: string;
      name?: string;
      subresource?: 'status';
    };

export const VERSION_INFO: JsonObject = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const document = (body: JsonObject | string | undefined): Route => {
  if (body === undefined) throw resourceNotFound();
  return { kind: 'document', body };
};

const resourceRoute = (
  types: readonly ResourceType[],
  group: string,
  version: string,
  rest: string[],
): Route => {
  let namespace: string | undefined;
  let parts = rest;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    parts = rest.slice(2);
  }
  const [plural = '', name, subresource, ...extra] = parts;
  const type = findType(types, group, version, plural);
  if (!type || extra.length || name === '') throw resourceNotFound();
  if (namespace !== undefined && !type.namespaced) throw resourceNotFound();
  if (type.namespaced && namespace === undefined && name !== undefined) throw resourceNotFound();
  if (subresource !== undefined && (subresource !== 'status' || !type.statusSubresource))
    throw resourceNotFound();
  return {
    kind: 'resource',
    type,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource === 'status' ? { subresource } : {}),
  };
};

export const route = (types: readonly ResourceType[], pathname: string, serverAddress: string): Route => {
  const segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [root, second, third] = segments;
  if (root === 'version' && segments.length === 1) return document(VERSION_INFO);
  if ((root === 'healthz' || root === 'livez' || root === 'readyz') && segments.length === 1)
    return document('ok');
  if (root === 'api') {
    if (segments.length === 1) {
      return document({
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      });
    }
    if (second !== 'v1') throw resourceNotFound();
    if (segments.length === 2) return document(resourceList(types, '', 'v1'));
    return resourceRoute(types, '', 'v1', segments.slice(2));
  }
  if (root === 'apis') {
    if (segments.length === 1) return document(groupList(types));
    const groups = groupList(types)['groups'] as JsonObject[];
    const group = groups.find((entry) => entry['name'] === second);
    if (!group || second === undefined) throw resourceNotFound();
    if (segments.length === 2) return document({ kind: 'APIGroup', apiVersion: 'v1', ...group });
    if (segments.length === 3) return document(resourceList(types, second, third ?? ''));
    return resourceRoute(types, second, third ?? '', segments.slice(3));
  }
  throw resourceNotFound();
};
