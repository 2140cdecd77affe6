import type { SourceStatus, VersionsView } from '../../src/daemon/control/control-types.js';
import { clockTime, shortDigest, shortRevision } from './format.js';
import { TimingChart } from './timing-chart.js';
import { VersionList } from './version-list.js';

export interface SourceCardProps {
  source: SourceStatus;
  versions: VersionsView | undefined;
  versionsError: string | undefined;
  busy: boolean;
  onReconcile: () => void;
  onPush: () => void;
  onRollback: (version: string) => void;
}

const Field = ({ label, value, mono }: { label: string; value: string; mono?: boolean }) => (
  <div class="field">
    <dt>{label}</dt>
    <dd class={mono ? 'mono' : undefined}>{value}</dd>
  </div>
);

/** One source: what it runs, what Flux said, what waits, and what went wrong. */
export const SourceCard = (props: SourceCardProps) => {
  const { source } = props;
  const last = source.lastReconcile;
  const applied = props.versions?.cluster?.appliedRevision ?? source.appliedRevision;
  return (
    <section class="card" data-source={source.name}>
      <header class="card-head">
        <h2>{source.name}</h2>
        <span class={`state state-${source.state}`} data-testid="state">
          {source.state}
        </span>
        <span class="muted path" title={source.path}>
          {source.repository}
        </span>
        <span class="spacer" />
        <button type="button" disabled={props.busy} onClick={props.onPush}>
          Push now
        </button>
        <button type="button" class="primary" disabled={props.busy} onClick={props.onReconcile}>
          Reconcile
        </button>
      </header>
      <dl class="fields">
        <Field label="Version" value={source.lastVersion ?? '–'} />
        <Field label="Digest" value={shortDigest(source.digest)} mono />
        <Field label="Pushed" value={clockTime(source.pushedAt)} />
        <Field
          label="Tag patched"
          value={source.tagPatched === undefined ? '–' : source.tagPatched ? 'yes' : 'not yet'}
        />
        <Field label="Applied" value={shortRevision(applied)} mono />
        <Field
          label="Pending"
          value={source.pendingRequests.length ? source.pendingRequests.join(', ') : 'none'}
        />
      </dl>
      {source.rolledBack && (
        <p class="notice notice-ok" data-testid="rolled-back">
          Rolled back to {source.rolledBack.version} (newest {source.rolledBack.latest}); the next real save
          moves on.
        </p>
      )}
      {last && (
        <div class={`reconcile outcome-${last.outcome}`} data-testid="last-reconcile">
          <strong>Last reconcile: {last.outcome}</strong>{' '}
          <span class="muted">
            {last.id} at {clockTime(last.finishedAt)}
            {last.revision ? ` · ${shortRevision(last.revision)}` : ''}
          </span>
          {last.error && <pre class="message">{last.error}</pre>}
        </div>
      )}
      {source.lastError && (
        <div class="problem" data-testid="last-error">
          <strong>Last error</strong>
          {source.problems && source.problems.length > 0 ? (
            <ul class="problems">
              {source.problems.map((p) => (
                <li key={`${p.file}:${p.line}:${p.column}`}>
                  <code>
                    {p.file}:{p.line}:{p.column}
                  </code>{' '}
                  {p.message}
                </li>
              ))}
            </ul>
          ) : (
            <pre class="message">{source.lastError}</pre>
          )}
        </div>
      )}
      <div class="columns">
        <div>
          <h3>Versions</h3>
          <VersionList
            versions={props.versions}
            error={props.versionsError}
            current={source.lastVersion}
            applied={applied?.split('@')[0]}
            busy={props.busy}
            onRollback={props.onRollback}
          />
        </div>
        <div>
          <h3>Save to cluster</h3>
          <TimingChart timings={source.timings ?? []} />
        </div>
      </div>
    </section>
  );
};
