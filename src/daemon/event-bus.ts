import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DaemonEvent } from './control/control-types.js';

export type DaemonEventType = DaemonEvent['type'];

export interface EventBus {
  /** `level` overrides the event type's log level (a repeated, expected condition logs at debug). */
  emit(
    type: DaemonEventType,
    source?: string,
    data?: Record<string, unknown>,
    level?: 'debug' | 'info' | 'warn' | 'error',
  ): DaemonEvent;
  /** Returns the unsubscribe function. */
  subscribe(listener: (event: DaemonEvent) => void): () => void;
}

/**
 * Fixed log text per event; the data goes in metadata. `push` and `patch` log at debug because the publisher and
 * src/flux already log "artifact pushed" and "patched OCIRepository tag" at info, and `change` because a checkout
 * can produce thousands.
 */
const LOG: Record<DaemonEventType, { level: 'debug' | 'info' | 'warn' | 'error'; message: string }> = {
  change: { level: 'debug', message: 'source changed' },
  build: { level: 'debug', message: 'build started' },
  dropped: { level: 'debug', message: 'build dropped, files changed while it read them' },
  unchanged: { level: 'info', message: 'content unchanged, nothing pushed' },
  push: { level: 'debug', message: 'version pushed' },
  patch: { level: 'debug', message: 'OCIRepository tag patched' },
  'request-queued': { level: 'info', message: 'reconcile request queued' },
  'reconcile-started': { level: 'info', message: 'reconcile started' },
  'reconcile-finished': { level: 'info', message: 'reconcile finished' },
  paused: { level: 'info', message: 'daemon paused' },
  resumed: { level: 'info', message: 'daemon resumed' },
  'config-reloaded': { level: 'info', message: 'config reloaded' },
  error: { level: 'error', message: 'daemon error' },
};

export const createEventBus = (options: { clock: Clock; logger: Logger }): EventBus => {
  const listeners = new Set<(event: DaemonEvent) => void>();
  return {
    emit: (type, source, data = {}, levelOverride) => {
      const event: DaemonEvent = {
        type,
        at: new Date(options.clock.now()).toISOString(),
        ...(source === undefined ? {} : { source }),
        data,
      };
      const { message } = LOG[type];
      const level = levelOverride ?? LOG[type].level;
      const failed = type === 'reconcile-finished' && data.outcome === 'failed';
      // winston would merge a `message` key into the fixed message text, so data never goes in as `message`.
      const { message: detail, ...rest } = data;
      options.logger.log(failed ? 'warn' : level, message, {
        ...(source ? { source } : {}),
        ...rest,
        ...(detail === undefined ? {} : { detail }),
      });
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          // A broken subscriber (a closed socket) must not stop the daemon or the other subscribers.
          options.logger.warn('event subscriber failed', { error: describeError(error) });
        }
      }
      return event;
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};
