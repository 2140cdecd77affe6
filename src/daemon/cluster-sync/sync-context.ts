import type { Clock } from '../../clock.js';
import type { Limiter } from '../../concurrency.js';
import type { Logger } from '../../logger.js';
import type { ReconcileMode } from '../../model/reconciliation-request.js';
import type { RetryPolicy } from '../../retry.js';
import type { EventBus } from '../event-bus.js';
import type { ClusterHealth } from './cluster-health.js';
import type { FluxDriver } from './flux-driver-types.js';
import type { RequestTable } from './requests.js';

/** What every source's sync shares: the Flux port, the request table, the reconcile slots and the mode. */
export interface SyncContext {
  flux: FluxDriver;
  table: RequestTable;
  /** flux.concurrency reconciles at once, daemon-wide. */
  slots: Limiter;
  health: ClusterHealth;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
  mode(): ReconcileMode;
  /** Aborted by close(): tag writes stop retrying. */
  stopping: AbortSignal;
}
