import type { Command } from 'commander';
import { Option } from 'commander';
import type { AfterPushResult } from '../publish/after-push.js';
import { KsailError, type ErrorCode } from '../errors.js';
import type { BumpPolicy } from '../model/oci-artifact.js';
import type { PublishResult } from '../publish/publish-types.js';
import { printJson, println, type CommandRegistrar } from './context.js';
import { formatBytes, plural, selectSources, shortDigest } from './sources.js';

type PushFailure = { source: string; error: string; code: ErrorCode };
type PushLine = (PublishResult & { tag?: AfterPushResult; daemon?: number }) | PushFailure;

/**
 * The data model's bump policies (BUMP_POLICIES), spelled out so that registering the command does not load the
 * versioning module and semver (issue #10); the Record makes the compiler check that none is missing.
 */
const BUMP_CHOICES = Object.keys({ patch: true, minor: true, major: true } satisfies Record<
  BumpPolicy,
  true
>);

interface PushOptions {
  json?: boolean;
  dryRun?: boolean;
  bump?: BumpPolicy;
  version?: string;
}

/**
 * `ksail-fluxd push [SOURCE...]`: the one-shot form of the loop's first half. Builds, validates, bumps and pushes
 * each source; prints one line per source. Sources that fail do not stop the others; the exit code is 1 if any did.
 * While a daemon watches a source, the daemon pushes it and this prints the daemon's result (issue #13).
 */
export const registerPushCommand: CommandRegistrar = (program, context) => {
  program
    .command('push')
    .description('build, validate, version and push sources to the local registry')
    .argument('[sources...]', 'source names (default: all)')
    .option('--json', 'print JSON')
    .option('--dry-run', 'build and validate only; push nothing')
    .addOption(new Option('--bump <level>', 'version bump for changed sources').choices(BUMP_CHOICES))
    .option('--version <version>', 'explicit version (semver, higher than the current one); needs one source')
    .action(async (names: string[], options: PushOptions, command: Command) => {
      const config = await context.config(command);
      const sources = selectSources(config, names);
      if (options.version !== undefined && sources.length !== 1) {
        throw new KsailError('usage', '--version applies to exactly one source; name the source to push');
      }
      const logger = context.logger(config);
      const request = {
        ...(options.bump ? { bump: options.bump } : {}),
        ...(options.version ? { version: options.version } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
      };
      const results: PushLine[] = [];
      // A source a running daemon watches is pushed by the daemon (issue #13); a dry run needs no daemon.
      const daemon = options.dryRun
        ? undefined
        : await (await import('./push-daemon.js')).findDaemonPush(config, sources, context.env);
      if (daemon) {
        for (const line of await daemon.push(request)) {
          results.push(line);
          if (options.json) continue;
          if ('error' in line) {
            println(context, `${line.source}  failed: ${line.error}`);
            continue;
          }
          println(context, formatResult(line));
          if (line.outcome === 'pushed') {
            println(
              context,
              `${line.source}  pushed by the daemon (pid ${daemon.pid}); it moves the tag and reconciles`,
            );
          }
        }
      }
      const direct = sources.filter((source) => !daemon?.sources.includes(source));
      // Each step's modules load when it runs (issue #10): the registry runtimes only for a registry ksail-fluxd
      // manages, the Kubernetes client (after-push, below) only once something was pushed.
      const publisherModule = import('../publish/publisher.js');
      if (direct.length > 0 && !options.dryRun && config.registryEnabled) {
        const { ensureRegistry } = await import('../registry/runtime/ensure.js');
        await ensureRegistry(config, { logger, clock: context.clock, env: context.env });
      }
      const { createPublisher } = await publisherModule;
      const publisher = createPublisher({
        config,
        clock: context.clock,
        logger,
        env: context.env,
        ...(options.dryRun ? { dryRun: true } : {}),
      });
      for (const source of direct) {
        try {
          const result = await publisher.publish(source, undefined, request);
          const patch =
            result.outcome === 'pushed' && result.version && result.manifestDigest
              ? await (
                  await import('../publish/after-push.js')
                ).afterPush({
                  config,
                  source,
                  version: result.version,
                  digest: result.manifestDigest,
                  logger,
                  clock: context.clock,
                  env: context.env,
                })
              : undefined;
          results.push(patch ? { ...result, tag: patch } : result);
          if (!options.json) {
            println(context, formatResult(result));
            if (patch) println(context, formatPatch(source.name, patch));
          }
        } catch (error) {
          if (!(error instanceof KsailError) || error.code === 'registry-unreachable') throw error;
          results.push({ source: source.name, error: error.message, code: error.code });
          if (!options.json) println(context, `${source.name}  failed: ${error.message}`);
        }
      }
      if (options.json) printJson(context, { results });
      const failures = results.filter((result): result is PushFailure => 'error' in result);
      const [first] = failures;
      if (first) {
        // The first failure's own code (manifest-invalid, version-invalid, registry-http, ...); each source's is
        // in its line of the output and in details.
        throw new KsailError(
          first.code,
          `${failures.length} of ${plural(results.length, 'source')} ${options.dryRun ? 'failed the dry run' : `${failures.length === 1 ? 'was' : 'were'} not pushed`}; see above`,
          { details: { failures: failures.map(({ source, code }) => ({ source, code })) } },
        );
      }
    });
};

const formatPatch = (source: string, patch: AfterPushResult): string => {
  if (patch.patched) return `${source}  tag patched: OCIRepository ${source} now at ${patch.revision}`;
  if (patch.code === 'flux-disabled') return `${source}  tag not patched: ${patch.reason}`;
  if (patch.code === 'cluster-not-configured')
    return `${source}  no cluster: tag not patched (${patch.reason})`;
  return `${source}  cluster not reachable; tag not patched (the daemon or "ksail-fluxd apply" will catch up): ${patch.reason}`;
};

export const formatResult = (result: PublishResult): string => {
  const stats = `${plural(result.fileCount, 'file')}  ${formatBytes(result.size)}  ${result.elapsedMs} ms`;
  switch (result.outcome) {
    case 'unchanged':
      return `${result.source}  unchanged  ${result.version ?? ''}  ${shortDigest(result.manifestDigest)}`;
    case 'dry-run':
      return `${result.source}  valid (dry run)  ${shortDigest(result.layerDigest)}  ${stats}`;
    case 'dropped':
      // Only the daemon drops a build (PublishOptions.superseded); listed for completeness.
      return `${result.source}  not pushed: files changed while they were read  ${stats}`;
    case 'pushed':
      return `${result.source}  ${result.version ?? ''}  ${shortDigest(result.manifestDigest)}  ${stats}`;
  }
};
