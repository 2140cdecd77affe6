import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { JsonObject } from './types.js';
import { isObject } from './types.js';

/**
 * Flux's CRDs for the two kinds the fake emulates. The real ones are read from `../shared/reference/flux-crds`
 * beside the repository when present; otherwise a minimal stand-in encodes the fields whose validation the
 * product relies on (url and interval patterns, required fields, the sourceRef kind enum).
 */
export const FLUX_CRD_DIR = fileURLToPath(
  new URL('../../../../shared/reference/flux-crds/', import.meta.url),
);

const CRD_FILES = [
  'source.toolkit.fluxcd.io_ocirepositories.yaml',
  'kustomize.toolkit.fluxcd.io_kustomizations.yaml',
];

const DURATION = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
const free = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const condition = {
  type: 'object',
  required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
  properties: {
    type: { type: 'string' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string', pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string' },
    observedGeneration: { type: 'integer', minimum: 0 },
    lastTransitionTime: { type: 'string' },
  },
};
const status = {
  ...free,
  default: { observedGeneration: -1 },
  properties: { conditions: { type: 'array', items: condition }, observedGeneration: { type: 'integer' } },
};

const minimalCrd = (
  group: string,
  kind: string,
  plural: string,
  shortNames: string[],
  spec: JsonObject,
): JsonObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec,
              status,
            },
          },
        },
      },
    ],
  },
});

const MINIMAL_CRDS: JsonObject[] = [
  minimalCrd('source.toolkit.fluxcd.io', 'OCIRepository', 'ocirepositories', ['ocirepo'], {
    ...free,
    required: ['interval', 'url'],
    properties: {
      url: { type: 'string', pattern: '^oci://.*$' },
      interval: { type: 'string', pattern: DURATION },
      timeout: { type: 'string', default: '60s', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$' },
      provider: { type: 'string', default: 'generic', enum: ['generic', 'aws', 'azure', 'gcp'] },
      ref: { ...free, properties: { tag: { type: 'string' }, digest: { type: 'string' } } },
      insecure: { type: 'boolean' },
      suspend: { type: 'boolean' },
    },
  }),
  minimalCrd('kustomize.toolkit.fluxcd.io', 'Kustomization', 'kustomizations', ['ks'], {
    ...free,
    required: ['interval', 'prune', 'sourceRef'],
    properties: {
      interval: { type: 'string', pattern: DURATION },
      retryInterval: { type: 'string', pattern: DURATION },
      path: { type: 'string' },
      prune: { type: 'boolean' },
      force: { type: 'boolean', default: false },
      suspend: { type: 'boolean' },
      targetNamespace: { type: 'string', minLength: 1, maxLength: 63 },
      sourceRef: {
        type: 'object',
        required: ['kind', 'name'],
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string', enum: ['OCIRepository', 'GitRepository', 'Bucket', 'ExternalArtifact'] },
          name: { type: 'string' },
          namespace: { type: 'string' },
        },
      },
    },
  }),
];

/** The CRD objects to install: the real files when readable, else the minimal stand-ins. */
export const loadFluxCrds = (dir = FLUX_CRD_DIR): { crds: JsonObject[]; source: 'files' | 'builtin' } => {
  if (!CRD_FILES.every((file) => existsSync(`${dir}/${file}`))) {
    return { crds: structuredClone(MINIMAL_CRDS), source: 'builtin' };
  }
  const crds = CRD_FILES.flatMap((file) =>
    parseAllDocuments(readFileSync(`${dir}/${file}`, 'utf8'))
      .map((document) => document.toJS() as unknown)
      .filter(isObject),
  );
  return { crds, source: 'files' };
};
