import { z } from 'zod';
// semver's one function, not its index (issue #10: start-up of every command that loads the config).
import valid from 'semver/functions/valid.js';
import { DURATION_PATTERN, parseDuration } from '../model/duration.js';
import { DEFAULT_FLUX_INTERVAL, DEFAULT_REGISTRY_PORT, GIT_OPS_ENGINES } from '../model/cluster-config.js';
import { BUMP_POLICIES } from '../model/oci-artifact.js';
import { RECONCILE_MODES } from '../model/reconciliation-request.js';

/**
 * The configuration file `ksail-fluxd.yaml`. Every object is strict: an unknown key is an error, and the loader
 * suggests the closest valid key. Defaults follow the issues and the data model.
 */
const duration = (what: string) =>
  z
    .string()
    // abort: zod 4 runs later checks after a failed one, and parseDuration throws on a malformed value.
    .regex(DURATION_PATTERN, {
      message: `${what} must be a duration such as 250ms, 30s, 1m or 1h30m`,
      abort: true,
    })
    .refine((value) => parseDuration(value) > 0, `${what} must be greater than 0`);

const dnsLabel = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be a lowercase DNS label (a-z, 0-9 and "-", starting and ending with a letter or digit)',
  )
  .max(63);

const port = z.number().int().min(1).max(65535);

export const SourceConfig = z.strictObject({
  /** Names the OCIRepository and Kustomization too, so it must be a DNS label. */
  name: dnsLabel,
  /** Directory with the manifests, relative to the config file. */
  path: z.string().min(1),
  /** Repository in the registry; default `<project>/<name>`. */
  repository: z.string().min(1).optional(),
  bump: z.enum(BUMP_POLICIES as ['patch', 'minor', 'major']).default('patch'),
  initialVersion: z
    .string()
    .refine((value) => valid(value) === value, 'initialVersion must be a semantic version such as 1.0.0')
    .default('1.0.0'),
  /** Extra gitignore-style patterns, on top of Flux's defaults, `.sourceignore` and editor temp files. */
  ignore: z.array(z.string()).default([]),
  targetNamespace: dnsLabel.optional(),
  prune: z.boolean().default(true),
  /** Path inside the artifact for the Kustomization. */
  kustomizationPath: z.string().default('./'),
  /** How many versions `prune` keeps (FR-018). */
  keep: z.number().int().min(1).default(20),
});
export type SourceConfig = z.infer<typeof SourceConfig>;

export const ClusterSection = z.strictObject({
  /** Docker network of the cluster (kind, k3d-<cluster>); the registry joins it (FR-004). */
  network: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
});

export const RegistrySection = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a valid container name')
      .default('local-registry'),
    image: z.string().min(1).default('registry:3'),
    volumeName: z.string().min(1).optional(),
    dataPath: z.string().min(1).optional(),
    runtime: z.enum(['auto', 'docker', 'process', 'external']).default('auto'),
  })
  .refine((value) => !(value.volumeName && value.dataPath), {
    message: 'set either volumeName or dataPath, not both',
    path: ['dataPath'],
  });

// Durations stay as written (for messages and Flux's own fields) and are converted to milliseconds here, once.
export const FluxSection = z
  .strictObject({
    namespace: dnsLabel.default('flux-system'),
    mode: z.enum(RECONCILE_MODES as ['Automatic', 'Manual']).default('Automatic'),
    reconcileTimeout: duration('reconcileTimeout').default('2m'),
    /** How many reconciliation requests run at once. */
    concurrency: z.number().int().min(1).max(32).default(2),
  })
  .transform((flux) => ({ ...flux, reconcileTimeoutMs: parseDuration(flux.reconcileTimeout) }));

export const WatchSection = z
  .strictObject({
    // Issue #10: a lone save builds after quietPeriod; while a burst goes on the wait grows up to burstQuietPeriod.
    quietPeriod: duration('quietPeriod').default('50ms'),
    burstQuietPeriod: duration('burstQuietPeriod').default('250ms'),
    maxWait: duration('maxWait').default('5s'),
    usePolling: z.boolean().default(false),
  })
  .transform((watch) => ({
    ...watch,
    quietPeriodMs: parseDuration(watch.quietPeriod),
    burstQuietPeriodMs: parseDuration(watch.burstQuietPeriod),
    maxWaitMs: parseDuration(watch.maxWait),
  }));

export const LogSection = z.strictObject({
  level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  format: z.enum(['auto', 'json', 'text']).default('auto'),
});

/** The dashboard (issue #12): off unless `port` is set (or `start --ui`); 0 picks a free port. Loopback only. */
export const UiSection = z.strictObject({
  port: z.number().int().min(0).max(65535).optional(),
});

export const Config = z
  .strictObject({
    /** Prefix of default repositories; default: the config file's directory name. */
    project: z
      .string()
      .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'must be lowercase letters, digits, ".", "_" or "-"')
      .optional(),
    // ClusterConfig (data model)
    gitOpsEngine: z.enum(GIT_OPS_ENGINES as ['Kubectl', 'Flux']).default('Flux'),
    registryEnabled: z.boolean().default(true),
    registryPort: port.default(DEFAULT_REGISTRY_PORT),
    fluxInterval: duration('fluxInterval').default(DEFAULT_FLUX_INTERVAL),
    cluster: ClusterSection.prefault({}),
    registry: RegistrySection.prefault({}),
    flux: FluxSection.prefault({}),
    sources: z.array(SourceConfig).default([]),
    watch: WatchSection.prefault({}),
    socket: z.strictObject({ path: z.string().min(1).optional() }).prefault({}),
    ui: UiSection.prefault({}),
    log: LogSection.prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.sources.forEach((source, index) => {
      if (seen.has(source.name)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate source name "${source.name}"; every source needs its own name`,
          path: ['sources', index, 'name'],
        });
      }
      seen.add(source.name);
    });
    // FR-004: pods reach a registry on the cluster network as <name>:5000, but a host process joins no network.
    if (config.registry.runtime === 'process' && config.cluster.network) {
      ctx.addIssue({
        code: 'custom',
        message: `a process registry cannot join Docker network "${config.cluster.network}", so pods could not pull from ${config.registry.name}:5000; set registry.runtime to docker (or auto), or remove cluster.network`,
        path: ['cluster', 'network'],
      });
    }
  });
export type Config = z.infer<typeof Config>;

/** The loaded config: paths resolved against the config file, repositories defaulted. */
export interface ResolvedSource extends SourceConfig {
  repository: string;
  /** Absolute path of the source directory. */
  absolutePath: string;
}

export interface ResolvedConfig extends Omit<Config, 'sources'> {
  project: string;
  sources: ResolvedSource[];
  /** Absolute path of the file it came from, or undefined when defaults were used. */
  file: string | undefined;
  /** Directory that relative paths resolve against. */
  baseDir: string;
}
