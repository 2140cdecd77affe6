import type { VersionsView } from '../../src/daemon/control/control-types.js';
import { dateTime, shortDigest } from './format.js';

export interface VersionListProps {
  versions: VersionsView | undefined;
  error: string | undefined;
  current: string | undefined;
  /** The tag the cluster applied: no rollback to it. */
  applied: string | undefined;
  busy: boolean;
  onRollback: (version: string) => void;
}

/** The registry's versions, newest first; the ones `prune` would delete are dimmed. */
export const VersionList = ({ versions, error, current, applied, busy, onRollback }: VersionListProps) => {
  if (error) return <p class="error-text">{error}</p>;
  if (!versions) return <p class="muted">Loading versions…</p>;
  if (versions.versions.length === 0) return <p class="muted">No version in the registry yet.</p>;
  return (
    <table class="versions">
      <thead>
        <tr>
          <th>Version</th>
          <th>Created</th>
          <th>Digest</th>
          <th title={`prune keeps the ${versions.keep} highest and the ones in use`}>Prune</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {versions.versions.map((v) => (
          <tr key={v.version} class={v.kept ? 'kept' : 'pruned'} data-version={v.version}>
            <td>
              {v.version}
              {v.version === current && <span class="tag tag-current">current</span>}
              {v.inUse && <span class="tag tag-in-use">in use</span>}
            </td>
            <td>{dateTime(v.created)}</td>
            <td class="mono">{shortDigest(v.digest)}</td>
            <td>{v.kept ? 'kept' : 'pruned'}</td>
            <td>
              {v.version !== applied && (
                <button type="button" class="small" disabled={busy} onClick={() => onRollback(v.version)}>
                  Roll back
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};
