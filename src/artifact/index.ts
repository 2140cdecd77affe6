export { buildLayer, assertNotEmpty, type BuildOptions, type BuiltLayer } from './build.js';
export {
  collectSource,
  assertSourceDirectory,
  type CollectOptions,
  type CollectedFile,
  type CollectedSource,
  type SkippedPath,
  type SkipReason,
  type SourceEntry,
} from './collect.js';
export { sha256Digest } from './digest.js';
export { artifactSource, execaGit, gitInfo, redactRemote, type GitInfo, type GitRunner } from './git.js';
export {
  EDITOR_TEMP_IGNORES,
  FLUX_DEFAULT_IGNORES,
  LayeredIgnoreMatcher,
  SOURCE_IGNORE_FILE,
  createIgnoreMatcher,
  isSourceIgnoreFile,
  type IgnoreMatcher,
  type IgnoreVerdict,
} from './ignore.js';
export {
  ANNOTATION_CREATED,
  ANNOTATION_REVISION,
  ANNOTATION_SOURCE,
  FLUX_CONFIG_BLOB,
  FLUX_CONFIG_MEDIA_TYPE,
  FLUX_CONTENT_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  artifactAnnotations,
  createManifest,
  rfc3339Seconds,
  type AnnotationInput,
  type BuiltManifest,
  type ManifestInput,
} from './manifest.js';
export { assembleLayer, type AssembleOptions, type LayerBytes } from './layer.js';
export { LayerCache, createLayerCache, type FileCache, type LayerCacheOptions } from './layer-cache.js';
export { DEFAULT_GROUPING, groupEntries, type GroupingOptions } from './layer-groups.js';
export { assertSafeEntryName, packEntries, packTar } from './tarball.js';
export {
  checkManifests,
  findManifestProblems,
  formatProblem,
  validateManifests,
  type ManifestProblem,
  type ValidationInput,
  type ValidationResult,
} from './validate.js';
export { ValidationCache, createValidationCache } from './validation-cache.js';
export { type FileProblem } from './manifest-check.js';
