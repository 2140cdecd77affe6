import type { Command } from 'commander';
import type { ResolvedConfig } from '../config/schema.js';
import { KsailError } from '../errors.js';
import { parseDuration } from '../model/duration.js';
import type { RequestView } from '../daemon/control/control-types.js';
import { printJson, println, type CommandContext, type CommandRegistrar } from './context.js';
import { plural } from './sources.js';
import { formatReconcileOutcome, isSuperseded, reconcileDirect } from './reconcile-direct.js';

interface ReconcileOptions {
  timeout?: string;
  json?: boolean;
  wait?: boolean;
  direct?: boolean;
}

/**
 * `ksail-fluxd reconcile [SOURCE...] [--wait] [--timeout 2m] [--json]`. When a daemon runs, the request goes
 * through its socket (in Manual mode this is the trigger that releases held requests); `--wait` waits for the
 * outcome. Without a daemon (or with `--direct`) it reconciles directly, like
 * `flux reconcile kustomization --with-source`, and always waits. Prints the revision or Flux's error per source;
 * exit code 1 when any source failed.
 */
export const registerReconcileCommand: CommandRegistrar = (program, context) => {
  program
    .command('reconcile')
    .description('reconcile sources now (source, then Kustomization) and wait until Flux applied them')
    .argument('[sources...]', 'source names (default: all)')
    .option(
      '--timeout <duration>',
      'reconciling directly: how long to wait per source (default: flux.reconcileTimeout, 2m)',
    )
    .option('--json', 'print JSON')
    .option('--wait', 'through the daemon: wait until the requests finished')
    .option('--direct', 'reconcile from this process even when a daemon runs')
    .action(async (names: string[], options: ReconcileOptions, command: Command) => {
      const timeoutMs = options.timeout === undefined ? undefined : parseTimeout(options.timeout);
      const config = await context.config(command);
      if (!options.direct) {
        const [{ tryDaemonReconcile }, { resolveSocketPath }] = await Promise.all([
          import('../daemon/control/control-client.js'),
          import('../daemon/control/socket-path.js'),
        ]);
        const viaDaemon = await tryDaemonReconcile(
          resolveSocketPath(config, context.env),
          { sources: names, wait: options.wait ?? false },
          { wait: daemonWaitLimit(config, names) },
        );
        if (viaDaemon) {
          // The daemon runs requests with its own flux.reconcileTimeout; say so rather than ignore the flag.
          if (timeoutMs !== undefined) {
            context.io.stderr.write(
              `note: --timeout applies when reconciling directly; the daemon waits up to its flux.reconcileTimeout (${config.flux.reconcileTimeout}). Pass --direct to use --timeout\n`,
            );
          }
          reportDaemonRequests(context, viaDaemon.requests, options.json ?? false);
          return;
        }
      }
      const outcomes = await reconcileDirect({
        config,
        names,
        timeoutMs,
        env: context.env,
        clock: context.clock,
        logger: context.logger(config),
      });
      if (options.json) {
        printJson(context, {
          results: outcomes.map((outcome) =>
            outcome.ok
              ? outcome
              : {
                  ok: false,
                  source: outcome.source,
                  error: { code: outcome.error.code, message: outcome.error.message },
                },
          ),
        });
      } else {
        for (const outcome of outcomes) println(context, formatReconcileOutcome(outcome));
      }
      const failed = outcomes.filter((outcome) => !outcome.ok && !isSuperseded(outcome)).length;
      if (failed > 0) {
        throw new KsailError(
          'reconcile-failed',
          `${failed} of ${plural(outcomes.length, 'source')} did not reconcile; see above`,
        );
      }
    });
};

/** What the daemon may need beyond its own limit to answer: queueing, and the answer's way back. */
export const WAIT_MARGIN_MS = 30_000;

/**
 * How long `--wait` waits for the daemon (issue #13): its flux.reconcileTimeout for each round of
 * flux.concurrency sources, plus a margin. The daemon ends a request at its own limit and says so; this limit
 * only ends a wait whose answer never comes, and says that it was this one.
 */
export const daemonWaitLimit = (
  config: ResolvedConfig,
  names: readonly string[],
): { ms: number; error: () => KsailError } => {
  const count = names.length > 0 ? names.length : Math.max(1, config.sources.length);
  const rounds = Math.ceil(count / Math.max(1, config.flux.concurrency));
  const ms = config.flux.reconcileTimeoutMs * rounds + WAIT_MARGIN_MS;
  return {
    ms,
    error: () =>
      new KsailError(
        'reconcile-timeout',
        `stopped waiting for the daemon after ${formatSeconds(ms)} (flux.reconcileTimeout ${config.flux.reconcileTimeout}${rounds > 1 ? ` for each of ${rounds} rounds of flux.concurrency ${config.flux.concurrency}` : ''}, plus ${formatSeconds(WAIT_MARGIN_MS)}); the request goes on in the daemon: follow it with "ksail-fluxd status"`,
        { details: { limitMs: ms, limit: 'client' } },
      ),
  };
};

const formatSeconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

const parseTimeout = (value: string): number => {
  try {
    const ms = parseDuration(value, '--timeout');
    if (ms > 0) return ms;
  } catch {
    // reported below as a usage error
  }
  throw new KsailError(
    'usage',
    `--timeout "${value}" is not a positive duration; use for example 30s, 2m or 1h`,
  );
};

/** Prints what the daemon did with the request; a failed request is exit code 1. */
const reportDaemonRequests = (context: CommandContext, requests: RequestView[], json: boolean): void => {
  if (json) printJson(context, { daemon: true, requests });
  else {
    for (const request of requests) {
      if (request.outcome === 'pending' || request.outcome === 'running') {
        println(context, `request ${request.id} ${request.outcome}: ${request.sources.join(', ')}`);
        continue;
      }
      if (request.outcome === 'superseded') {
        println(
          context,
          `${request.sources.join(', ')}  superseded by ${request.supersededBy ?? 'a newer version'} (request ${request.id}); Flux reconciles that version`,
        );
        continue;
      }
      for (const result of request.results) {
        println(
          context,
          result.error
            ? `${result.source}  failed: ${result.error}`
            : `${result.source}  applied ${result.revision ?? ''}`,
        );
      }
      if (request.error && request.results.length === 0)
        println(context, `request ${request.id} failed: ${request.error}`);
    }
  }
  const failed = requests.filter((request) => request.outcome === 'failed').length;
  if (failed > 0)
    throw new KsailError('reconcile-failed', `${plural(failed, 'reconciliation request')} failed; see above`);
};
