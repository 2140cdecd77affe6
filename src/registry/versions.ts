import { ANNOTATION_CREATED, ANNOTATION_REVISION } from '../artifact/manifest.js';
import { createLimiter } from '../concurrency.js';
import { sortVersionsDescending } from '../model/oci-artifact.js';
import type { RegistryClient } from './client/client.js';

export interface VersionInfo {
  version: string;
  digest: string;
  /** `org.opencontainers.image.created` of the manifest. */
  created: string | undefined;
  revision: string | undefined;
}

const CONCURRENCY = 8;

/** Semver versions of a repository, newest first, with their manifest digests and created times. */
export const listVersions = async (client: RegistryClient, repository: string): Promise<VersionInfo[]> => {
  const versions = sortVersionsDescending(await client.listTags(repository));
  const limit = createLimiter(CONCURRENCY);
  const results = await Promise.all(
    versions.map((version) =>
      limit(async (): Promise<VersionInfo | undefined> => {
        // A tag deleted since the listing has no manifest any more: left out.
        const manifest = await client.getManifest(repository, version);
        if (!manifest) return undefined;
        const annotations = manifest.manifest.annotations ?? {};
        return {
          version,
          digest: manifest.digest,
          created: annotations[ANNOTATION_CREATED],
          revision: annotations[ANNOTATION_REVISION],
        };
      }),
    ),
  );
  return results.filter((value): value is VersionInfo => value !== undefined);
};
