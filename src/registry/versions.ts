import { sortVersionsDescending } from '../model/oci-artifact.js';
import type { RegistryClient } from './client.js';

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
  const results: (VersionInfo | undefined)[] = new Array<VersionInfo | undefined>(versions.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < versions.length) {
      const index = next++;
      const version = versions[index] as string;
      const manifest = await client.getManifest(repository, version);
      if (!manifest) continue;
      const annotations = manifest.manifest.annotations ?? {};
      results[index] = {
        version,
        digest: manifest.digest,
        created: annotations['org.opencontainers.image.created'],
        revision: annotations['org.opencontainers.image.revision'],
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, versions.length) }, worker));
  return results.filter((value): value is VersionInfo => value !== undefined);
};
