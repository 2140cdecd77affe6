import { KsailError } from '../errors.js';
import type { Logger } from '../logger.js';
import { collectSource, type CollectedSource } from './collect.js';
import { sha256Digest } from './digest.js';
import { isSourceIgnoreFile } from './ignore.js';
import { assembleLayer } from './layer.js';
import type { LayerCache } from './layer-cache.js';
import { validateManifests } from './validate.js';
import type { ValidationCache } from './validation-cache.js';

export interface BuildOptions {
  sourceDir: string;
  /** The source's own gitignore-style patterns (`sources[].ignore`). */
  ignore?: readonly string[];
  logger?: Logger;
  /** One per source, reused across builds: unchanged files are not parsed again. */
  validationCache?: ValidationCache;
  /**
   * One per source, reused across builds: unchanged files are not read again, and unchanged groups of entries keep
   * their compressed gzip member (issue #10). The layer's bytes are the same with or without it.
   */
  layerCache?: LayerCache;
  /** `sources[].name`, for validation messages. */
  sourceName?: string;
  /** `sources[].kustomizationPath`: what Flux builds, so what validation judges; default `./`. */
  kustomizationPath?: string;
  /** `sources[].targetNamespace`: sets the namespace of every namespaced object. */
  targetNamespace?: string;
  /** See ValidationInput.namespaceRequired (default true). */
  namespaceRequired?: boolean;
}

export interface BuiltLayer {
  /** The gzipped tarball, as a concatenation of gzip members: the artifact's one layer. */
  layer: Buffer;
  layerDigest: string;
  layerSize: number;
  fileCount: number;
  uncompressedSize: number;
  /** Relative posix paths of the regular files, in tar order. */
  files: string[];
  /** Skipped symlinks and special files, and manifests Flux will not apply, for the user. */
  warnings: string[];
}

/** `source-empty` when nothing but directories (and `.sourceignore` files) is left after the ignore rules. */
export const assertNotEmpty = (source: CollectedSource): void => {
  if (source.files.some((file) => !isSourceIgnoreFile(file.path))) return;
  const patterns = [
    ...new Set(
      source.skipped.flatMap((item) =>
        item.reason === 'ignored' && item.verdict?.pattern !== undefined
          ? [`"${item.verdict.pattern}" (${item.verdict.origin ?? 'ignore rules'})`]
          : [],
      ),
    ),
  ];
  const message =
    patterns.length > 0
      ? `source ${source.sourceDir} has no files to package after the ignore rules; add manifests or loosen the patterns that excluded everything: ${patterns.join(', ')}`
      : `source ${source.sourceDir} has no files to package; add manifests to it`;
  throw new KsailError('source-empty', message, { details: { source: source.sourceDir, patterns } });
};

/**
 * Collects, validates and packs a source into a Flux content layer (see `flux push artifact`). Throws
 * `source-not-found`, `source-empty`, `manifest-invalid` or `source-unreadable`.
 */
export const buildLayer = async (options: BuildOptions): Promise<BuiltLayer> => {
  const source = await collectSource({ ...options, fileCache: options.layerCache });
  assertNotEmpty(source);
  // Compression runs on the thread pool while validation runs here; a failed validation discards the layer (the
  // members it compressed stay cached for the next save).
  const compressing = assembleLayer(source.entries, { cache: options.layerCache });
  let validationWarnings: string[];
  try {
    validationWarnings = await validateManifests(
      {
        ...source,
        sourceName: options.sourceName,
        kustomizationPath: options.kustomizationPath,
        targetNamespace: options.targetNamespace,
        namespaceRequired: options.namespaceRequired,
      },
      options.validationCache,
    );
  } catch (error) {
    compressing.catch(() => undefined);
    throw error;
  }
  for (const warning of validationWarnings) {
    options.logger?.warn('manifest not applied by Flux', { source: source.sourceDir, warning });
  }
  const { layer, uncompressedSize } = await compressing;
  return {
    layer,
    layerDigest: sha256Digest(layer),
    layerSize: layer.length,
    fileCount: source.files.length,
    uncompressedSize,
    files: source.files.map((file) => file.path),
    warnings: [...source.warnings, ...validationWarnings],
  };
};
