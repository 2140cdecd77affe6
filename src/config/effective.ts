import { access, readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parse } from 'yaml';
import { KsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DEFAULT_CONFIG_FILE, ENV_KEYS, loadConfig, type LoadOptions } from './load.js';
import { isLoopbackHost, KSAIL_FILE, readKsailYaml, type KsailCluster } from './ksail-yaml.js';
import type { ResolvedConfig } from './schema.js';

/** Where a value of the effective config came from, lowest precedence first. */
export type ConfigOrigin = 'default' | 'ksail.yaml' | 'file' | 'environment' | 'flag';

export interface EffectiveConfig {
  config: ResolvedConfig;
  /** The ksail.yaml the values came from, when there was no ksail-fluxd.yaml. */
  ksail: KsailCluster | undefined;
  /** Origin of every leaf of `config` by dotted path (`flux.mode`, `sources[0].path`). */
  origins: Map<string, ConfigOrigin>;
}

/** A DNS label from a directory name, for the one source a ksail.yaml gives. */
const sourceName = (dir: string): string =>
  basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63) || 'k8s';

/**
 * The config values a ksail.yaml stands for (ksail.md): KSail's registry container, port and volume (so its
 * running registry is adopted, not duplicated), the cluster's network and connection, and its source directory as
 * the one source. Values ksail.yaml does not decide keep ksail-fluxd's defaults.
 */
export const ksailConfigLayer = (cluster: KsailCluster): Record<string, unknown> => {
  if (cluster.gitOpsEngine === 'ArgoCD') {
    throw new KsailError(
      'config-invalid',
      `${cluster.file}: spec gitOpsEngine is ArgoCD, and ksail-fluxd drives Flux only (it patches Flux OCIRepositories and waits for Flux's Kustomizations); create the cluster with gitOpsEngine: Flux, or use \`ksail workload\` with Argo CD`,
      { details: { file: cluster.file, gitOpsEngine: 'ArgoCD' } },
    );
  }
  const layer: Record<string, unknown> = {
    // KSail's None means no GitOps engine: ksail-fluxd pushes, and nothing applies the artifact through Flux.
    gitOpsEngine: cluster.gitOpsEngine === 'Flux' ? 'Flux' : 'Kubectl',
    sources: [{ name: sourceName(cluster.sourceDirectory), path: cluster.sourceDirectory }],
  };
  const { registry } = cluster;
  if (registry) {
    if (!isLoopbackHost(registry.ref.host)) {
      throw new KsailError(
        'config-invalid',
        `${cluster.file}: the registry ${registry.ref.display} is not on this machine; ksail-fluxd pushes only to a local registry bound to 127.0.0.1. Write a ksail-fluxd.yaml (ksail-fluxd init) for a local registry`,
      );
    }
    layer.registryPort = registry.ref.port;
    layer.registry = {
      name: registry.containerName,
      ...(registry.volumeName ? { volumeName: registry.volumeName } : {}),
    };
    if (registry.ref.path && /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(registry.ref.path)) {
      layer.project = registry.ref.path;
    }
  }
  const clusterSection: Record<string, string> = {};
  if (cluster.network && registry) clusterSection.network = cluster.network;
  if (cluster.kubeconfig) clusterSection.kubeconfig = cluster.kubeconfig;
  if (cluster.context) clusterSection.context = cluster.context;
  if (Object.keys(clusterSection).length > 0) layer.cluster = clusterSection;
  if (cluster.fluxInterval) layer.fluxInterval = cluster.fluxInterval;
  return layer;
};

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The ksail.yaml to read: only when no ksail-fluxd.yaml is given or present, since ours always wins. */
const ksailFallback = async (options: LoadOptions): Promise<KsailCluster | undefined> => {
  if ((options.file ?? options.env.KSAIL_FLUXD_CONFIG) !== undefined) return undefined;
  if (await exists(resolve(options.cwd, DEFAULT_CONFIG_FILE))) return undefined;
  return readKsailYaml(options.cwd);
};

/**
 * Loads the config every command uses: ksail-fluxd.yaml (file, environment, flags), or, when there is none,
 * the same with ksail.yaml's values under the environment and flags.
 */
export const loadEffectiveConfig = async (
  options: LoadOptions,
  logger?: Pick<Logger, 'debug'>,
): Promise<ResolvedConfig> => (await loadWithOrigins(options, logger)).config;

/** As loadEffectiveConfig, with the origin of every value (`ksail-fluxd config`). */
export const loadWithOrigins = async (
  options: LoadOptions,
  logger?: Pick<Logger, 'debug'>,
): Promise<EffectiveConfig> => {
  const ksail = await ksailFallback(options);
  const layer = ksail ? ksailConfigLayer(ksail) : undefined;
  if (ksail) logger?.debug('config from ksail.yaml', { file: ksail.file, shape: ksail.shape });
  const config = await loadConfig({
    ...options,
    ...(layer && ksail
      ? {
          base: {
            values: layer,
            origins: new Map(leafPaths(layer).map((path) => [path, `${ksail.file} (${KSAIL_FILE})`])),
          },
        }
      : {}),
  });
  const layers: Array<[ConfigOrigin, Set<string>]> = [
    [
      'flag',
      new Set(Object.keys(options.overrides ?? {}).filter((key) => options.overrides?.[key] !== undefined)),
    ],
    [
      'environment',
      new Set(
        Object.entries(ENV_KEYS)
          .filter(([variable]) => (options.env[variable] ?? '') !== '')
          .map(([, path]) => path),
      ),
    ],
    ['file', new Set(config.file ? leafPaths(await fileValues(config.file)) : [])],
    ['ksail.yaml', new Set(layer ? leafPaths(layer) : [])],
  ];
  const origins = new Map<string, ConfigOrigin>();
  for (const path of leafPaths(printable(config))) {
    const found = layers.find(([, paths]) => paths.has(path));
    origins.set(path, found?.[0] ?? 'default');
  }
  return { config, ksail, origins };
};

const fileValues = async (file: string): Promise<unknown> => parse(await readFile(file, 'utf8')) as unknown;

/** The resolved config without what the loader derives for the code (milliseconds, absolute paths, file). */
export const printable = (config: ResolvedConfig): Record<string, unknown> => {
  const { file: _file, baseDir: _baseDir, ...rest } = config;
  return JSON.parse(
    JSON.stringify(rest, (key, value: unknown) =>
      key.endsWith('Ms') || key === 'absolutePath' ? undefined : value,
    ),
  ) as Record<string, unknown>;
};

/** Dotted paths of every leaf (`a.b`, `list[0].c`); an empty array or object is a leaf too. */
export const leafPaths = (value: unknown, prefix = ''): string[] => {
  if (Array.isArray(value) && value.length > 0 && value.some((item) => typeof item === 'object')) {
    return value.flatMap((item, index) => leafPaths(item, `${prefix}[${index}]`));
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, item]) => leafPaths(item, prefix ? `${prefix}.${key}` : key));
  }
  return prefix ? [prefix] : [];
};
