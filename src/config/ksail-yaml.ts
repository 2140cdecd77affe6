import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { KsailError } from '../errors.js';

/** KSail's own config file, read from the working directory when there is no ksail-fluxd.yaml. */
export const KSAIL_FILE = 'ksail.yaml';

/**
 * The two shapes of `ksail.yaml` found in use (../shared/reference/ksail.md). Loose objects: KSail has many keys
 * ksail-fluxd does not need, and they must not be errors here. Only what ksail-fluxd reads is checked.
 */
const name = z.string().min(1);

/** KSail v7 (`ksail.io/v1alpha1`). */
export const KsailV7 = z.looseObject({
  apiVersion: z.literal('ksail.io/v1alpha1'),
  kind: z.literal('Cluster'),
  metadata: z.looseObject({ name: name.optional() }).optional(),
  spec: z
    .looseObject({
      cluster: z
        .looseObject({
          distribution: z
            .enum(['Vanilla', 'K3s', 'Talos', 'VCluster', 'KWOK', 'EKS', 'GKE', 'AKS'])
            .default('Vanilla'),
          gitOpsEngine: z.enum(['None', 'Flux', 'ArgoCD']).default('None'),
          localRegistry: z.looseObject({ registry: name.optional() }).optional(),
        })
        .prefault({}),
      workload: z.looseObject({ sourceDirectory: name.default('k8s') }).prefault({}),
      connection: z.looseObject({ kubeconfig: name.optional(), context: name.optional() }).prefault({}),
    })
    .prefault({}),
});
export type KsailV7 = z.infer<typeof KsailV7>;

/** KSail-Go v2 (`ksail.dev/v1alpha1`). */
export const KsailV2 = z.looseObject({
  apiVersion: z.literal('ksail.dev/v1alpha1'),
  kind: z.literal('Cluster'),
  metadata: z.looseObject({ name: name.optional() }).optional(),
  spec: z
    .looseObject({
      distribution: z.enum(['Kind', 'K3d', 'Talos', 'VCluster', 'KWOK']).default('Kind'),
      sourceDirectory: name.default('k8s'),
      gitOpsEngine: z.enum(['None', 'Flux', 'ArgoCD']).default('None'),
      localRegistry: z.enum(['Enabled', 'Disabled']).default('Disabled'),
      connection: z.looseObject({ kubeconfig: name.optional(), context: name.optional() }).optional(),
      options: z
        .looseObject({
          localRegistry: z
            .looseObject({ hostPort: z.number().int().min(1).max(65535).default(5111) })
            .prefault({}),
          flux: z.looseObject({ interval: name.optional() }).prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
});
export type KsailV2 = z.infer<typeof KsailV2>;

/** `[user:pass@]host[:port][/path]`, parsed. The credentials are kept only as a flag: they are never logged. */
export interface KsailRegistryRef {
  host: string;
  port: number;
  path: string | undefined;
  hasCredentials: boolean;
  /** The reference with the password replaced by `***`, for messages. */
  display: string;
}

/** What ksail-fluxd takes from a ksail.yaml, and what KSail derives from it. */
export interface KsailCluster {
  file: string;
  shape: 'KSail v7' | 'KSail-Go v2';
  /** The cluster name (metadata.name). */
  name: string | undefined;
  distribution: string;
  gitOpsEngine: 'None' | 'Flux' | 'ArgoCD';
  /** KSail's local registry, when it runs one. */
  registry: { ref: KsailRegistryRef; containerName: string; volumeName: string | undefined } | undefined;
  sourceDirectory: string;
  kubeconfig: string | undefined;
  context: string | undefined;
  fluxInterval: string | undefined;
  /** The cluster's Docker network, as KSail names it per distribution. */
  network: string | undefined;
}

/** KSail v7's default registry when a GitOps engine is set. */
export const KSAIL_DEFAULT_REGISTRY = 'localhost:5050';
/** The volume KSail v7 gives its registry container. */
export const KSAIL_REGISTRY_VOLUME = 'local-registry';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether a registry host is this machine's loopback, the only place ksail-fluxd pushes to. */
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOSTS.has(host.toLowerCase());

/** Parses `[user:pass@]host[:port][/path]`; `what` names the key in messages. Never echoes the password. */
export const parseRegistryRef = (value: string, what: string): KsailRegistryRef => {
  const at = value.lastIndexOf('@');
  const credentials = at >= 0 ? value.slice(0, at) : undefined;
  const rest = at >= 0 ? value.slice(at + 1) : value;
  const user = credentials?.split(':')[0];
  const display = credentials === undefined ? rest : `${user ?? ''}:***@${rest}`;
  const match = /^(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?(\/.*)?$/.exec(rest);
  const port = match?.[2] === undefined ? 5050 : Number(match[2]);
  if (!match?.[1] || port < 1 || port > 65535) {
    throw new KsailError(
      'config-invalid',
      `${what}: "${display}" is not a registry reference of the form [user:pass@]host[:port][/path]; fix it in ksail.yaml`,
    );
  }
  const path = match[3]?.replace(/^\/+|\/+$/g, '') || undefined;
  return { host: match[1], port, path, hasCredentials: credentials !== undefined, display };
};

/** Docker network of a KSail cluster, per distribution (KSail v7 and KSail-Go v2 names alike). */
export const ksailNetwork = (distribution: string, cluster: string | undefined): string | undefined => {
  switch (distribution.toLowerCase()) {
    case 'vanilla':
    case 'kind':
      return 'kind';
    case 'k3s':
    case 'k3d':
      return cluster && `k3d-${cluster}`;
    case 'talos':
      return cluster;
    case 'vcluster':
      return cluster && `vcluster.${cluster}`;
    case 'kwok':
      return cluster && `kwok-${cluster}`;
    default:
      // EKS, GKE, AKS: no local Docker network.
      return undefined;
  }
};

const describeIssues = (file: string, error: z.ZodError): string =>
  error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.') || '(root)';
      const detail =
        issue.code === 'invalid_value'
          ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
          : issue.message;
      return `${file}: ${path}: ${detail}`;
    })
    .join('; ');

const fromV7 = (file: string, doc: KsailV7): KsailCluster => {
  const { cluster, workload, connection } = doc.spec;
  const clusterName = doc.metadata?.name;
  const registryValue =
    cluster.localRegistry?.registry ?? (cluster.gitOpsEngine === 'None' ? undefined : KSAIL_DEFAULT_REGISTRY);
  let registry: KsailCluster['registry'];
  if (registryValue !== undefined) {
    const ref = parseRegistryRef(registryValue, `${file}: spec.cluster.localRegistry.registry`);
    if (clusterName === undefined) {
      throw new KsailError(
        'config-invalid',
        `${file}: metadata.name is not set, and ksail-fluxd needs the cluster name to find KSail's registry container (<cluster>-local-registry); set metadata.name in ksail.yaml, or write a ksail-fluxd.yaml (ksail-fluxd init)`,
      );
    }
    registry = { ref, containerName: `${clusterName}-local-registry`, volumeName: KSAIL_REGISTRY_VOLUME };
  }
  return {
    file,
    shape: 'KSail v7',
    name: clusterName,
    distribution: cluster.distribution,
    gitOpsEngine: cluster.gitOpsEngine,
    registry,
    sourceDirectory: workload.sourceDirectory,
    kubeconfig: connection.kubeconfig,
    context: connection.context,
    fluxInterval: undefined,
    network: ksailNetwork(cluster.distribution, clusterName),
  };
};

const fromV2 = (file: string, doc: KsailV2): KsailCluster => {
  const { spec } = doc;
  const port = spec.options.localRegistry.hostPort;
  return {
    file,
    shape: 'KSail-Go v2',
    name: doc.metadata?.name,
    distribution: spec.distribution,
    gitOpsEngine: spec.gitOpsEngine,
    registry:
      spec.localRegistry === 'Enabled'
        ? {
            ref: {
              host: 'localhost',
              port,
              path: undefined,
              hasCredentials: false,
              display: `localhost:${port}`,
            },
            containerName: 'local-registry',
            volumeName: undefined,
          }
        : undefined,
    sourceDirectory: spec.sourceDirectory,
    kubeconfig: spec.connection?.kubeconfig,
    context: spec.connection?.context,
    fluxInterval: spec.options.flux.interval,
    network: ksailNetwork(spec.distribution, doc.metadata?.name),
  };
};

/** Validates a parsed ksail.yaml of either shape. */
export const parseKsailYaml = (file: string, value: unknown): KsailCluster => {
  const apiVersion = (value as { apiVersion?: unknown } | null)?.apiVersion;
  const schema =
    apiVersion === 'ksail.dev/v1alpha1' ? KsailV2 : apiVersion === 'ksail.io/v1alpha1' ? KsailV7 : undefined;
  if (!schema) {
    throw new KsailError(
      'config-invalid',
      `${file}: apiVersion ${JSON.stringify(apiVersion ?? null)} is not a KSail cluster config ksail-fluxd knows (ksail.io/v1alpha1 of KSail v7, or ksail.dev/v1alpha1 of KSail-Go v2); write a ksail-fluxd.yaml instead (ksail-fluxd init)`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new KsailError('config-invalid', describeIssues(file, parsed.error));
  return apiVersion === 'ksail.dev/v1alpha1'
    ? fromV2(file, parsed.data as KsailV2)
    : fromV7(file, parsed.data as KsailV7);
};

/** Reads `ksail.yaml` in `dir`; undefined when there is none. */
export const readKsailYaml = async (dir: string): Promise<KsailCluster | undefined> => {
  const file = join(dir, KSAIL_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KsailError('config-not-found', `cannot read ${file}; check its permissions`, { cause: error });
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new KsailError('config-invalid', `${file}: not valid YAML; fix the syntax`, { cause: error });
  }
  return parseKsailYaml(file, value);
};
