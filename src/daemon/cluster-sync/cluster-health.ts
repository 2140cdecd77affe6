import { describeError } from '../../errors.js';
import type { DaemonStatus } from '../control/control-types.js';

/** Whether the cluster answered the last call; shown in status and used to tell "down" from "broken". */
export class ClusterHealth {
  reachable = true;
  lastError: string | undefined;

  markReachable(): void {
    this.reachable = true;
    this.lastError = undefined;
  }

  markUnreachable(error: unknown): void {
    this.reachable = false;
    this.lastError = describeError(error);
  }

  /** A failure that is not about reachability (RBAC, Flux missing): the cluster answered. */
  markFailed(error: unknown): void {
    this.reachable = true;
    this.lastError = describeError(error);
  }

  view(): DaemonStatus['cluster'] {
    return { reachable: this.reachable, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }
}
