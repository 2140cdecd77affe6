// One file per function rather than semver's index, which requires all 47 of its modules (issue #10: every
// command that loads the config loads this).
import gt from 'semver/functions/gt.js';
import inc from 'semver/functions/inc.js';
import rcompare from 'semver/functions/rcompare.js';
import valid from 'semver/functions/valid.js';
import { KsailError } from '../errors.js';

export type BumpPolicy = 'patch' | 'minor' | 'major';
export const BUMP_POLICIES: readonly BumpPolicy[] = ['patch', 'minor', 'major'];

/** Data model rule: `OCIArtifact.Version` MUST be valid semver (FR-007). Returns the normalised version. */
export const validateVersion = (version: string): string => {
  if (version.includes('+')) {
    throw new KsailError(
      'version-invalid',
      `version "${version}" has build metadata ("+..."), which an OCI tag cannot hold; drop the "+" part or use a pre-release such as 1.0.3-build.5`,
    );
  }
  const normalised = valid(version);
  if (normalised === null || normalised !== version) {
    throw new KsailError(
      'version-invalid',
      `version "${version}" is not a semantic version; use MAJOR.MINOR.PATCH such as 1.0.3 (no leading "v")`,
    );
  }
  return normalised;
};

/** OCI distribution spec repository name grammar (lowercase path components). */
const REPOSITORY_PATTERN =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export const validateRepository = (repository: string): string => {
  if (!REPOSITORY_PATTERN.test(repository) || repository.length > 255) {
    throw new KsailError(
      'model-invalid',
      `repository "${repository}" is not a valid OCI repository name; use lowercase letters, digits, ".", "_", "-" and "/" separators, for example ksail/workloads/app`,
    );
  }
  return repository;
};

/** OCI tag grammar; semver versions always satisfy it. */
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Data model rule: `FluxOCIRepository.spec.url` MUST be `oci://<endpoint>/<repository>`. */
export const ociUrl = (endpoint: string, repository: string): string =>
  `oci://${endpoint}/${validateRepository(repository)}`;

/** The next version: bump the highest valid semver tag, or use `initialVersion` when there is none. */
export const nextVersion = (tags: readonly string[], bump: BumpPolicy, initialVersion: string): string => {
  const highest = highestVersion(tags);
  if (highest === undefined) return validateVersion(initialVersion);
  const next = inc(highest, bump);
  if (next === null) throw new KsailError('version-invalid', `cannot bump version ${highest}`);
  return next;
};

/** The highest valid semver tag; non-semver tags (such as `latest`) are ignored. */
export const highestVersion = (tags: readonly string[]): string | undefined =>
  sortVersionsDescending(tags)[0];

/** Valid semver tags, highest first. */
export const sortVersionsDescending = (tags: readonly string[]): string[] =>
  tags.filter((tag) => valid(tag) === tag).sort((a, b) => rcompare(a, b));

/** An explicit `--version` must be semver and higher than the current version. */
export const validateExplicitVersion = (version: string, current: string | undefined): string => {
  validateVersion(version);
  if (current !== undefined && !gt(version, current)) {
    throw new KsailError(
      'version-invalid',
      `version ${version} is not higher than the current version ${current}; pick a version above ${current}`,
    );
  }
  return version;
};
