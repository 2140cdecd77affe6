import type { ResolvedSource } from '../config/schema.js';
import { createControlClient, type ControlClient } from '../daemon/control/control-client.js';
import { knownErrorCode } from '../daemon/control/control-errors.js';
import { resolveSocketPath } from '../daemon/control/socket-path.js';
import { isKsailError, type ErrorCode } from '../errors.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { PublishRequest, PublishResult } from '../publish/publish-types.js';

export type DaemonPushLine =
  (PublishResult & { daemon: number }) | { source: string; error: string; code: ErrorCode };

/** A running daemon that publishes some of the sources `push` was asked for (issue #13). */
export interface DaemonPush {
  pid: number;
  /** The sources the daemon watches under the same repository: they go through it. */
  sources: ResolvedSource[];
  /** One line per source: the daemon's publish result, or its error. */
  push(request: PublishRequest): Promise<DaemonPushLine[]>;
}

/**
 * The daemon on this config's socket, when one runs. A source it watches is pushed through it, so the daemon's
 * pipeline is the one pusher of that source (its status, tag and requests stay true); a source it does not watch
 * (another config, another repository) is pushed here, under the same repository lock.
 */
export const findDaemonPush = async (
  config: ResolvedConfig,
  sources: readonly ResolvedSource[],
  env: NodeJS.ProcessEnv,
): Promise<DaemonPush | undefined> => {
  const client: ControlClient = createControlClient(resolveSocketPath(config, env));
  let status;
  try {
    status = await client.status();
  } catch (error) {
    if (isKsailError(error, 'daemon-not-running')) return undefined;
    throw error;
  }
  const watched = new Map(status.sources.map((source) => [source.name, source.repository]));
  const mine = sources.filter((source) => watched.get(source.name) === source.repository);
  if (mine.length === 0) return undefined;
  return {
    pid: status.pid,
    sources: mine,
    push: async (request) => {
      const response = await client.push({
        sources: mine.map((source) => source.name),
        wait: true,
        ...(request.bump ? { bump: request.bump } : {}),
        ...(request.version !== undefined ? { version: request.version } : {}),
      });
      return (response.results ?? []).map((outcome): DaemonPushLine => {
        if ('error' in outcome) {
          return { source: outcome.source, error: outcome.error, code: knownErrorCode(outcome.code) };
        }
        return {
          ...outcome,
          version: outcome.version,
          manifestDigest: outcome.manifestDigest,
          daemon: status.pid,
        };
      });
    },
  };
};
