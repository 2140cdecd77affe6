import type { DaemonStatus } from '../../src/daemon/control/control-types.js';
import type { Connection } from './api.js';

export interface HeaderProps {
  status: DaemonStatus | undefined;
  connection: Connection;
  busy: boolean;
  onReconcileAll: () => void;
  onPushAll: () => void;
  onPauseResume: () => void;
}

const Health = ({ label, ok, detail }: { label: string; ok: boolean; detail: string }) => (
  <span class={`health ${ok ? 'ok' : 'bad'}`} title={detail} data-testid={`health-${label}`}>
    <i class="dot" />
    {label}: {detail}
  </span>
);

/** The daemon at a glance: mode, registry and cluster health, and the actions on all sources. */
export const Header = ({ status, connection, busy, ...actions }: HeaderProps) => (
  <header class="top">
    <h1>ksail-fluxd</h1>
    {status && (
      <>
        <span class="tag" data-testid="mode">
          {status.mode}
        </span>
        {status.paused && <span class="tag tag-paused">paused</span>}
        <Health
          label="registry"
          ok={status.registry.status === 'Running'}
          detail={
            status.registry.lastError
              ? `${status.registry.status} (${status.registry.lastError})`
              : `${status.registry.status} at ${status.registry.endpoint}`
          }
        />
        <Health
          label="cluster"
          ok={status.cluster.reachable}
          detail={
            status.cluster.reachable
              ? 'reachable'
              : `unreachable${status.cluster.lastError ? ` (${status.cluster.lastError})` : ''}`
          }
        />
      </>
    )}
    <span class={`connection connection-${connection}`} data-testid="connection">
      {connection === 'live' ? 'live' : connection}
    </span>
    <span class="spacer" />
    {status && (
      <>
        <button type="button" disabled={busy} onClick={actions.onPauseResume}>
          {status.paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" disabled={busy} onClick={actions.onPushAll}>
          Push all
        </button>
        <button type="button" class="primary" disabled={busy} onClick={actions.onReconcileAll}>
          Reconcile all
        </button>
      </>
    )}
  </header>
);
