import type { DaemonEvent } from '../../src/daemon/control/control-types.js';
import { clockTime } from './format.js';

/** A one-line summary of an event's data, for the activity list. */
const summary = (event: DaemonEvent): string => {
  const d = event.data;
  const text = (key: string): string => (typeof d[key] === 'string' ? d[key] : '');
  switch (event.type) {
    case 'push':
    case 'unchanged':
      return text('version');
    case 'patch':
      return `tag ${text('tag')}`;
    case 'request-queued':
    case 'reconcile-started':
      return text('id');
    case 'reconcile-finished':
      return `${text('id')} ${text('outcome')}`;
    case 'change':
      return text('path');
    case 'error':
      return (text('error').split('\n')[0] ?? '').slice(0, 160);
    default:
      return '';
  }
};

export const EventLog = ({ events }: { events: readonly DaemonEvent[] }) => (
  <section class="card">
    <h3>Activity</h3>
    {events.length === 0 ? (
      <p class="muted">Waiting for the daemon's events…</p>
    ) : (
      <ol class="events">
        {events.map((event, index) => (
          <li key={`${event.at}-${index}`} class={`event event-${event.type}`}>
            <span class="muted">{clockTime(event.at)}</span> <strong>{event.type}</strong>{' '}
            {event.source && <span class="tag">{event.source}</span>} {summary(event)}
          </li>
        ))}
      </ol>
    )}
  </section>
);
