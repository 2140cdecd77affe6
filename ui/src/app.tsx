import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { DaemonEvent, DaemonStatus, VersionsView } from '../../src/daemon/control/control-types.js';
import { api, ApiError, openStream, type Connection } from './api.js';
import { EventLog } from './event-log.js';
import { Header } from './header.js';
import { SourceCard } from './source-card.js';

/** Events after which a source's version list may have changed. */
const VERSION_EVENTS = new Set<DaemonEvent['type']>(['push', 'patch', 'reconcile-finished', 'unchanged']);
const EVENTS_SHOWN = 40;

type Notice = { kind: 'ok' | 'error'; text: string } | undefined;

/** The dashboard: live status over Server-Sent Events; every action is a call of the control API. */
export const App = () => {
  const [status, setStatus] = useState<DaemonStatus>();
  const [connection, setConnection] = useState<Connection>('connecting');
  const [events, setEvents] = useState<DaemonEvent[]>([]);
  const [versions, setVersions] = useState<Record<string, VersionsView>>({});
  const [versionErrors, setVersionErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<Notice>();
  const known = useRef(new Set<string>());

  const loadVersions = useCallback((name: string) => {
    api.versions(name).then(
      (view) => {
        setVersions((all) => ({ ...all, [name]: view }));
        setVersionErrors(({ [name]: _, ...rest }) => rest);
      },
      (error: unknown) =>
        setVersionErrors((all) => ({
          ...all,
          [name]: error instanceof Error ? error.message : String(error),
        })),
    );
  }, []);

  useEffect(
    () =>
      openStream({
        connection: setConnection,
        status: (next) => {
          setStatus(next);
          for (const source of next.sources) {
            if (known.current.has(source.name)) continue;
            known.current.add(source.name);
            loadVersions(source.name);
          }
        },
        event: (event) => {
          setEvents((all) => [event, ...all].slice(0, EVENTS_SHOWN));
          if (event.source && VERSION_EVENTS.has(event.type)) loadVersions(event.source);
        },
      }),
    [loadVersions],
  );

  const act = (label: string, action: () => Promise<unknown>): void => {
    setBusy(true);
    setNotice(undefined);
    action()
      .then(() => setNotice({ kind: 'ok', text: label }))
      .catch((error: unknown) =>
        setNotice({ kind: 'error', text: error instanceof ApiError ? error.message : String(error) }),
      )
      .finally(() => setBusy(false));
  };

  return (
    <>
      <Header
        status={status}
        connection={connection}
        busy={busy}
        onReconcileAll={() => act('Reconcile requested for every source', () => api.reconcile([]))}
        onPushAll={() => act('Push scheduled for every source', () => api.push([]))}
        onPauseResume={() =>
          status?.paused
            ? act('Resumed', () => api.resume())
            : act('Paused: saves are recorded, nothing is pushed', () => api.pause())
        }
      />
      <main>
        {notice && (
          <p class={`notice notice-${notice.kind}`} role="status" data-testid="notice">
            {notice.text}
          </p>
        )}
        {connection === 'closed' && (
          <p class="notice notice-error">
            The daemon closed the connection. If it restarted, open the new link from "ksail-fluxd ui".
          </p>
        )}
        {status?.sources.length === 0 && <p class="muted">No sources configured.</p>}
        {status?.sources.map((source) => (
          <SourceCard
            key={source.name}
            source={source}
            versions={versions[source.name]}
            versionsError={versionErrors[source.name]}
            busy={busy}
            onReconcile={() =>
              act(`Reconcile requested for ${source.name}`, () => api.reconcile([source.name]))
            }
            onPush={() => act(`Push scheduled for ${source.name}`, () => api.push([source.name]))}
            onRollback={(version) =>
              act(`Rolled back ${source.name} to ${version}`, () => api.rollback(source.name, version))
            }
          />
        ))}
        <EventLog events={events} />
      </main>
    </>
  );
};
