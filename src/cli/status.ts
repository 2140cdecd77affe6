import type { Command } from 'commander';
import type { ControlClient } from '../daemon/control/control-client.js';
import type { DaemonStatus, RequestView, SourceStatus } from '../daemon/control/control-types.js';
import { isKsailError, KsailError } from '../errors.js';
import { printJson, println, type CommandContext, type CommandRegistrar } from './context.js';
import { shortDigest } from './sources.js';

/** The control client for this run: the config's `socket.path`, else the default socket (no config file needed). */
export const controlClientFor = async (command: Command, context: CommandContext): Promise<ControlClient> => {
  const config = await context.config(command);
  // Loaded on use, so that registering the commands (for --help) loads no schema (issue #10).
  const [{ createControlClient }, { resolveSocketPath }] = await Promise.all([
    import('../daemon/control/control-client.js'),
    import('../daemon/control/socket-path.js'),
  ]);
  return createControlClient(resolveSocketPath(config, context.env));
};

/** `ksail-fluxd status [--json]`: what the running daemon is doing. Exit 3 when no daemon is running. */
export const registerStatusCommand: CommandRegistrar = (program, context) => {
  program
    .command('status')
    .description('show the running daemon: mode, registry, cluster, each source and recent requests')
    .option('--json', 'print the daemon status as JSON')
    .option(
      '--socket-path',
      'print the control socket path (for curl --unix-socket) and exit; no daemon needed',
    )
    .action(async (options: { json?: boolean; socketPath?: boolean }, command: Command) => {
      const client = await controlClientFor(command, context);
      if (options.socketPath) {
        println(context, client.socketPath);
        return;
      }
      let status: DaemonStatus;
      try {
        status = await client.status();
      } catch (error) {
        const errno = ((error as KsailError).cause as NodeJS.ErrnoException | undefined)?.code;
        if (isKsailError(error, 'daemon-not-running') && errno !== 'EACCES' && errno !== 'EPERM') {
          throw new KsailError(
            'daemon-not-running',
            `ksail-fluxd daemon is not running (socket ${client.socketPath}); start it with "ksail-fluxd start"`,
            { cause: error, details: { socketPath: client.socketPath } },
          );
        }
        throw error;
      }
      if (options.json) printJson(context, status);
      else for (const line of formatStatus(status)) println(context, line);
    });
};

const dash = (value: string | undefined): string => (value === undefined || value === '' ? '-' : value);

const CELL_LIMIT = 160;

/**
 * One line per table cell: a multi-line error (a manifest's problems, Flux's message) keeps its first line and
 * says how many follow; `status --json` has the full text.
 */
export const oneLine = (text: string): string => {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const [first = ''] = lines;
  const head = first.length > CELL_LIMIT ? `${first.slice(0, CELL_LIMIT - 1)}…` : first;
  const more = lines.length - 1;
  return more > 0 || head !== first
    ? `${head}${more > 0 ? ` (+${more} more ${more === 1 ? 'line' : 'lines'})` : ''} [full text: status --json]`
    : head;
};

/** Drops the milliseconds of an ISO time: second precision is what a person reads. */
const time = (iso: string | undefined): string => (iso ? iso.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '') : '-');

const duration = (ms: number | undefined): string => {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
};

/** Left-aligned columns; the last one is not padded so long errors do not drag trailing spaces. */
export const table = (rows: string[][]): string[] => {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
};

const stateOf = (source: SourceStatus): string => {
  if (source.state === 'idle' && source.rolledBack) {
    return `idle (rolled back to ${source.rolledBack.version} until the next save)`;
  }
  return source.state === 'idle' && source.tagPatched === false ? 'idle (tag not patched)' : source.state;
};

const sourceRow = (source: SourceStatus): string[] => [
  source.name,
  dash(source.lastVersion),
  shortDigest(source.digest),
  time(source.pushedAt),
  stateOf(source),
  source.pendingRequests.length ? source.pendingRequests.join(',') : '-',
  dash(source.lastError === undefined ? undefined : oneLine(source.lastError)),
];

const requestRow = (request: RequestView): string[] => {
  const problems = request.results.filter((result) => result.error).map((r) => `${r.source}: ${r.error}`);
  const revisions = request.results
    .filter((result) => result.revision)
    .map((r) => `${r.source}@${r.revision}`);
  return [
    request.id,
    request.sources.join(',') || '(all)',
    request.outcome,
    time(request.requestedAt),
    duration(request.durationMs),
    dash(oneLine(request.error ?? (problems.length ? problems.join('; ') : revisions.join(' ')))),
  ];
};

const clusterLine = (cluster: DaemonStatus['cluster']): string => {
  const detail = cluster.lastError ? ` (${oneLine(cluster.lastError)})` : '';
  switch (cluster.state) {
    case 'not-used':
      return 'not used (gitOpsEngine is not Flux): tags not patched';
    case 'not-configured':
      return `no cluster: tags not patched${detail}`;
    default:
      return cluster.reachable ? 'reachable' : `unreachable${detail}`;
  }
};

/** The readable status: a header block, a table of sources and a table of recent requests. */
export const formatStatus = (status: DaemonStatus): string[] => {
  const registry = `${status.registry.status} at ${status.registry.endpoint}${
    status.registry.lastError ? ` (${oneLine(status.registry.lastError)})` : ''
  }`;
  const cluster = clusterLine(status.cluster);
  const lines = [
    `ksail-fluxd ${status.version} (pid ${status.pid}), running since ${time(status.startedAt)}`,
    ...table([
      ['mode', `${status.mode}${status.paused ? ', paused (resume with "ksail-fluxd resume")' : ''}`],
      ['registry', registry],
      ['cluster', cluster],
    ]),
    '',
  ];
  if (status.sources.length === 0) lines.push('no sources configured');
  else {
    lines.push(
      ...table([
        ['SOURCE', 'VERSION', 'DIGEST', 'PUSHED', 'STATE', 'PENDING', 'LAST ERROR'],
        ...status.sources.map(sourceRow),
      ]),
    );
  }
  lines.push('');
  if (status.recentRequests.length === 0) lines.push('no reconciliation requests yet');
  else {
    lines.push(
      ...table([
        ['REQUEST', 'SOURCES', 'OUTCOME', 'REQUESTED', 'DURATION', 'RESULT'],
        ...status.recentRequests.map(requestRow),
      ]),
    );
  }
  return lines;
};
