import {
  artifactAnnotations,
  artifactSource,
  buildLayer,
  createManifest,
  FLUX_CONFIG_BLOB,
  gitInfo,
  OCI_MANIFEST_MEDIA_TYPE,
  type GitRunner,
  type LayerCache,
  type ValidationCache,
} from '../artifact/index.js';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { createLimiter } from '../concurrency.js';
import { KsailError } from '../errors.js';
import type { ResolvedSource } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { highestVersion, nextVersion, validateExplicitVersion } from '../model/oci-artifact.js';
import type { RegistryClient } from '../registry/client/client.js';
import type { PublishRequest, PublishResult } from './publish-types.js';

export interface PublishOptions {
  source: ResolvedSource;
  /** Undefined only for a dry run, which never talks to the registry. */
  client: RegistryClient | undefined;
  request?: PublishRequest;
  clock: Clock;
  logger: Logger;
  /**
   * Parsed-manifest cache of this source across publishes: unchanged files are not parsed again, which keeps a
   * save of one file in a 2,000-file source fast. The daemon keeps one per source.
   */
  validationCache?: ValidationCache;
  /**
   * Incremental-build cache of this source (issue #10): unchanged files are not read again and unchanged groups of
   * entries keep their compressed member, so a one-file save re-compresses a few KiB. The daemon keeps one per source.
   */
  layerCache?: LayerCache;
  /**
   * The repository's exclusive push lock (issue #13), which also keeps garbage collection away (issue #3): the
   * version is chosen, uploaded and tagged inside it.
   */
  lock?: <T>(repository: string, fn: () => Promise<T>) => Promise<T>;
  /**
   * Whether Flux applies the artifact (`gitOpsEngine: Flux`, the default): then a namespaced object without a
   * namespace is a problem, since Flux's apply fails on it.
   */
  namespaceRequired?: boolean;
  /** The git port, for the revision and source annotations; default the real git. */
  git?: GitRunner;
  /** Called once the content is known to differ, as the upload of `version` begins (the daemon's `pushing` state). */
  onPushing?: (version: string) => void;
  /**
   * Whether files changed since this publish began reading them (issue #10: the daemon's short quiet period can
   * start a build in the middle of a burst). Asked before the version is taken and again just before the tag is
   * written; when true, nothing is tagged (outcome `dropped`) and the caller's next run publishes what is there.
   */
  superseded?: () => boolean;
}

/**
 * One publish of a source (issue #2): build and validate the layer, compare its digest with the highest tag's,
 * and only when the content differs bump the version and push. The registry is the source of truth for versions;
 * the tag is written last, so an interrupted push never leaves a tag behind and the next run reuses the version.
 */
export const publishSource = async (options: PublishOptions): Promise<PublishResult> => {
  const { source, client, clock, request = {} } = options;
  const started = clock.now();
  // Ask the registry while the layer is being built; both are on the hot path of every save.
  if (!client && !request.dryRun) throw new KsailError('internal', 'publishSource needs a registry client');
  const current = request.dryRun || !client ? undefined : currentVersion(client, source.repository);
  current?.catch(() => undefined);
  const built = await buildLayer({
    sourceDir: source.absolutePath,
    ignore: source.ignore,
    logger: options.logger,
    validationCache: options.validationCache,
    layerCache: options.layerCache,
    // Validation judges what the Flux Kustomization of this source applies.
    sourceName: source.name,
    kustomizationPath: source.kustomizationPath,
    targetNamespace: source.targetNamespace,
    namespaceRequired: options.namespaceRequired ?? true,
  });
  const result = (
    outcome: PublishResult['outcome'],
    version: string | undefined,
    manifestDigest: string | undefined,
  ): PublishResult => ({
    source: source.name,
    repository: source.repository,
    outcome,
    version,
    manifestDigest,
    layerDigest: built.layerDigest,
    fileCount: built.fileCount,
    size: built.layerSize,
    elapsedMs: Math.round(clock.now() - started),
    warnings: built.warnings,
  });
  if (!current || !client) return result('dry-run', undefined, undefined);

  // The early read only decides whether there is anything to push; the version is chosen under the lock.
  const early = await current;
  if (early.highest && early.highest.layerDigest === built.layerDigest && request.version === undefined) {
    return result('unchanged', early.highest.version, early.highest.manifestDigest);
  }
  const dropped = (): PublishResult => result('dropped', undefined, undefined);
  if (options.superseded?.()) return dropped();
  // git (for the revision annotation) runs only for content that differs (issue #10), while the blobs upload:
  // they do not depend on it, only the manifest does.
  const commit = gitInfo(source.absolutePath, options.git);
  commit.catch(() => undefined);
  const created = contentTime(source.absolutePath, built.files, clock);
  /**
   * Under the repository lock (issue #13): read the tags again, since another pusher may have written one since
   * the early read, choose the version, upload, write the tag, and read the tag back.
   */
  const push = async (): Promise<PublishResult> => {
    const { tags, highest } = await currentVersion(client, source.repository);
    if (highest && highest.layerDigest === built.layerDigest && request.version === undefined) {
      // Another pusher published this very content meanwhile: a no-op, and its version is ours.
      return result('unchanged', highest.version, highest.manifestDigest);
    }
    const version =
      request.version !== undefined
        ? validateExplicitVersion(request.version, highest?.version)
        : nextVersion(tags, request.bump ?? source.bump, source.initialVersion);
    options.onPushing?.(version);
    const [info] = await Promise.all([
      commit,
      uploadIfMissing(client, source.repository, FLUX_CONFIG_BLOB.digest, FLUX_CONFIG_BLOB.bytes),
      uploadIfMissing(client, source.repository, built.layerDigest, built.layer),
    ]);
    // The tag is what Flux and the next run see; blobs without one are garbage that `prune` collects.
    if (options.superseded?.()) return dropped();
    const manifest = createManifest({
      layerDigest: built.layerDigest,
      layerSize: built.layerSize,
      annotations: artifactAnnotations({
        version,
        created: await created,
        source: artifactSource(source.absolutePath, info),
        ...(info?.commit ? { commit: info.commit } : {}),
      }),
    });
    const { digest } = await client.putManifest(
      source.repository,
      version,
      manifest.body,
      OCI_MANIFEST_MEDIA_TYPE,
    );
    await assertTagIsOurs(client, source.repository, version, digest);
    options.logger.info('artifact pushed', {
      source: source.name,
      repository: source.repository,
      version,
      digest,
      files: built.fileCount,
    });
    return result('pushed', version, digest);
  };
  return options.lock ? options.lock(source.repository, push) : push();
};

/**
 * The tag as the registry now has it. A pusher that does not share our lock (`flux push artifact`, a ksail-fluxd
 * with another state directory) can overwrite it; reporting our digest then would make reconciles wait for a
 * revision that no longer exists, so the difference is an error and the next run starts from the registry again.
 */
const assertTagIsOurs = async (
  client: RegistryClient,
  repository: string,
  version: string,
  digest: string,
): Promise<void> => {
  const now = await client.headManifest(repository, version);
  if (now?.digest === digest) return;
  throw new KsailError(
    'version-conflict',
    `tag ${version} of ${repository} was overwritten right after this push (it is ${now?.digest ?? 'gone'}, not ${digest}): another tool pushes to this repository without ksail-fluxd's lock; push through one ksail-fluxd (the daemon, or push with the same state directory) and retry`,
    { details: { repository, version, digest, found: now?.digest } },
  );
};

/**
 * The `created` annotation: the newest modification time of the packed files, in whole seconds, not the clock
 * (issue #13). The same files give the same manifest, so a retried or raced push of the same content and version
 * is the same bytes. (Directories are left out: an editor's swap file beside a manifest moves its directory's
 * time without changing what is packed.) Flux copies the annotation into the artifact's metadata and decides
 * nothing on it: source-controller resolves `<tag>@<digest>` and reads the layer.
 */
const contentTime = async (root: string, files: readonly string[], clock: Clock): Promise<Date> => {
  const limit = createLimiter(64);
  const times = await Promise.all(
    files.map((file) =>
      limit(() =>
        lstat(join(root, file)).then(
          (stats) => stats.mtimeMs,
          () => 0,
        ),
      ),
    ),
  );
  const newest = Math.max(0, ...times);
  return new Date(newest > 0 ? Math.floor(newest / 1000) * 1000 : clock.now());
};

interface CurrentVersion {
  tags: string[];
  highest: { version: string; manifestDigest: string; layerDigest: string | undefined } | undefined;
}

/** The repository's tags and the highest semver tag's manifest and layer digests. */
export const currentVersion = async (client: RegistryClient, repository: string): Promise<CurrentVersion> => {
  const tags = await client.listTags(repository);
  const version = highestVersion(tags);
  if (version === undefined) return { tags, highest: undefined };
  const manifest = await client.getManifest(repository, version);
  if (!manifest) return { tags, highest: undefined };
  return {
    tags,
    highest: { version, manifestDigest: manifest.digest, layerDigest: manifest.manifest.layers[0]?.digest },
  };
};

const uploadIfMissing = async (
  client: RegistryClient,
  repository: string,
  digest: string,
  data: Uint8Array,
): Promise<void> => {
  if (!(await client.hasBlob(repository, digest))) await client.uploadBlob(repository, digest, data);
};
