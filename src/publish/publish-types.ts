import type { BumpPolicy } from '../model/oci-artifact.js';

/** Outcome of one publish (build → validate → compare → bump → push) of a source. */
export interface PublishResult {
  source: string;
  repository: string;
  /**
   * `unchanged`: the layer digest equals the highest tag's, so nothing was pushed or bumped. `dropped`: the content
   * differed, but files changed while it was read (`superseded`), so no tag was written; the next run pushes.
   */
  outcome: 'pushed' | 'unchanged' | 'dry-run' | 'dropped';
  /** The pushed version, or the current highest one when unchanged (undefined for a dry run of a new repo). */
  version: string | undefined;
  /** Manifest digest of `version` (`sha256:…`). */
  manifestDigest: string | undefined;
  layerDigest: string;
  fileCount: number;
  /** Layer size in bytes. */
  size: number;
  elapsedMs: number;
  warnings: string[];
}

export interface PublishRequest {
  bump?: BumpPolicy;
  /** An explicit version; must be semver and higher than the current one. */
  version?: string;
  dryRun?: boolean;
}
