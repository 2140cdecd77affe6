import { resolve, sep } from 'node:path';
import { z } from 'zod';
import type { KsailCluster } from '../config/ksail-yaml.js';
import type { ResolvedConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { KubeAdapter } from './kube-adapter.js';
import type { KubeObject } from './kube-object.js';

/**
 * Two Kustomizations that apply (and prune) the same objects fight over them: each prunes what the other applied
 * (kustomize-controller garbage-collects by its own inventory), and the objects flip between the two versions.
 * KSail's own `flux-system` Kustomization applies its whole source directory (../shared/reference/ksail.md), so a
 * ksail-fluxd source in that directory is the common case. Found at start-up and warned about, naming both.
 */
export interface Overlap {
  source: string;
  /** The source's directory on disk. */
  sourcePath: string;
  /** `namespace/name` of the other Kustomization. */
  kustomization: string;
  /** The directory on disk the other Kustomization applies. */
  appliedPath: string;
  /** `namespace/name` and URL of its OCIRepository. */
  ociRepository: string;
  url: string;
  /** What to do, as a sentence. */
  fix: string;
}

/** The fields read from other tools' objects; anything else passes through. */
const KustomizationSpec = z.looseObject({
  path: z.string().optional(),
  prune: z.boolean().optional(),
  sourceRef: z.looseObject({ kind: z.string(), name: z.string(), namespace: z.string().optional() }),
});
const OCIRepositorySpec = z.looseObject({ url: z.string() });

const within = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(`${parent}${sep}`);

/** `oci://host[:port]/path` → host and path; undefined for anything else. */
const parseOciUrl = (url: string): { host: string; path: string } | undefined => {
  const match = /^oci:\/\/([^/]+)\/(.+?)\/?$/.exec(url);
  return match?.[1] && match[2] ? { host: match[1].toLowerCase(), path: match[2] } : undefined;
};

/**
 * Where on disk a Kustomization's OCI artifact comes from, when ksail-fluxd can tell: one of our repositories
 * (our source's directory) or KSail's `<sourceDirectory>` in KSail's registry.
 */
const localDirOf = (
  url: string,
  config: ResolvedConfig,
  ksail: KsailCluster | undefined,
): string | undefined => {
  const parsed = parseOciUrl(url);
  if (!parsed) return undefined;
  const hosts = new Set([
    `${config.registry.name}:5000`,
    `localhost:${config.registryPort}`,
    `127.0.0.1:${config.registryPort}`,
    ...(ksail?.registry
      ? [`${ksail.registry.containerName}:5000`, `localhost:${ksail.registry.ref.port}`]
      : []),
  ]);
  if (!hosts.has(parsed.host)) return undefined;
  const ours = config.sources.find((source) => source.repository === parsed.path);
  if (ours) return ours.absolutePath;
  if (ksail && parsed.path === ksail.sourceDirectory.replace(/^\.?\/+|\/+$/g, '')) {
    return resolve(config.baseDir, ksail.sourceDirectory);
  }
  return undefined;
};

/** Every pair of (our source, another Kustomization) that apply objects from the same directory. */
export const findOverlaps = (input: {
  config: ResolvedConfig;
  ksail: KsailCluster | undefined;
  kustomizations: readonly KubeObject[];
  repositories: readonly KubeObject[];
}): Overlap[] => {
  const { config } = input;
  const overlaps: Overlap[] = [];
  for (const kustomization of input.kustomizations) {
    const spec = KustomizationSpec.safeParse(kustomization.spec);
    if (!spec.success || spec.data.sourceRef.kind !== 'OCIRepository') continue;
    const namespace = kustomization.metadata.namespace ?? config.flux.namespace;
    const sourceNamespace = spec.data.sourceRef.namespace ?? namespace;
    const repository = input.repositories.find(
      (object) =>
        object.metadata.name === spec.data.sourceRef.name &&
        (object.metadata.namespace ?? config.flux.namespace) === sourceNamespace,
    );
    const url = OCIRepositorySpec.safeParse(repository?.spec);
    if (!url.success) continue;
    const root = localDirOf(url.data.url, config, input.ksail);
    if (!root) continue;
    const appliedPath = resolve(root, spec.data.path ?? './');
    const name = `${namespace}/${kustomization.metadata.name}`;
    for (const source of config.sources) {
      const own = kustomization.metadata.name === source.name && namespace === config.flux.namespace;
      if (own) continue;
      if (!within(source.absolutePath, appliedPath) && !within(appliedPath, source.absolutePath)) continue;
      overlaps.push({
        source: source.name,
        sourcePath: source.absolutePath,
        kustomization: name,
        appliedPath,
        ociRepository: `${sourceNamespace}/${spec.data.sourceRef.name}`,
        url: url.data.url,
        fix: `suspend the other one (\`flux suspend kustomization ${kustomization.metadata.name} -n ${namespace}\`), or point source ${source.name} at a directory it does not apply (or list that directory in a .sourceignore of ${appliedPath})`,
      });
    }
  }
  return overlaps;
};

/**
 * At start-up: lists the Kustomizations and OCIRepositories in the Flux namespace (and in flux-system, where
 * KSail's live) and warns about each overlap. Never fails the start: a cluster that does not answer is a debug line.
 */
export const warnAboutOverlaps = async (options: {
  config: ResolvedConfig;
  ksail: KsailCluster | undefined;
  adapter: Pick<KubeAdapter, 'list'>;
  logger: Logger;
}): Promise<Overlap[]> => {
  const { config, adapter, logger } = options;
  if (config.sources.length === 0) return [];
  const namespaces = [...new Set([config.flux.namespace, 'flux-system'])];
  try {
    const lists = await Promise.all(
      namespaces.flatMap((namespace) => [
        adapter.list('Kustomization', namespace),
        adapter.list('OCIRepository', namespace),
      ]),
    );
    const overlaps = findOverlaps({
      config,
      ksail: options.ksail,
      kustomizations: lists.filter((_, index) => index % 2 === 0).flat(),
      repositories: lists.filter((_, index) => index % 2 === 1).flat(),
    });
    for (const overlap of overlaps) {
      logger.warn('another Kustomization applies the objects of this source; the two will fight', {
        ...overlap,
      });
    }
    return overlaps;
  } catch (error) {
    logger.debug('overlap check skipped', { error: describeError(error) });
    return [];
  }
};
