import { z } from 'zod';
import type { RollbackResult } from '../../publish/rollback-result.js';

/**
 * The contract between the daemon core and the control API (Unix socket, HTTP/1.1 + JSON, issue #5).
 * The server validates requests with these schemas; the CLI client validates responses with them.
 */
/** `superseded`: a newer push overtook the request; Flux reconciles that version instead (see supersededBy). */
export const RequestOutcome = z.enum(['pending', 'running', 'succeeded', 'failed', 'superseded']);
export type RequestOutcome = z.infer<typeof RequestOutcome>;

export const RequestView = z.object({
  id: z.string(),
  sources: z.array(z.string()),
  mode: z.enum(['Automatic', 'Manual']),
  requestedAt: z.string(),
  outcome: RequestOutcome,
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  /** Per source: the revision Flux applied, or Flux's error. */
  results: z
    .array(
      z.object({
        source: z.string(),
        revision: z.string().optional(),
        error: z.string().optional(),
        code: z.string().optional(),
        durations: z.record(z.string(), z.number()).optional(),
      }),
    )
    .default([]),
  /** The version that overtook a `superseded` request. */
  supersededBy: z.string().optional(),
  error: z.string().optional(),
});
export type RequestView = z.infer<typeof RequestView>;

/** One `file:line:column message` of an invalid manifest (src/artifact/validate.ts). */
export const ManifestProblemView = z.object({
  file: z.string(),
  line: z.number(),
  column: z.number(),
  message: z.string(),
});
export type ManifestProblemView = z.infer<typeof ManifestProblemView>;

/**
 * How long one version took from the save to each step (issue #12's chart): the save is the last file event the
 * build that pushed it covered; absent for a start-up push, which no save caused.
 */
export const VersionTiming = z.object({
  version: z.string(),
  savedAt: z.string().optional(),
  pushedAt: z.string(),
  patchedAt: z.string().optional(),
  appliedAt: z.string().optional(),
  toPushMs: z.number().optional(),
  toPatchMs: z.number().optional(),
  toApplyMs: z.number().optional(),
});
export type VersionTiming = z.infer<typeof VersionTiming>;

/** The source's newest finished reconcile: Flux's verdict, with its reason and message in `error`. */
export const LastReconcile = z.object({
  id: z.string(),
  outcome: RequestOutcome,
  finishedAt: z.string().optional(),
  revision: z.string().optional(),
  error: z.string().optional(),
  code: z.string().optional(),
});
export type LastReconcile = z.infer<typeof LastReconcile>;

export const SourceStatus = z.object({
  name: z.string(),
  path: z.string(),
  repository: z.string(),
  lastVersion: z.string().optional(),
  /** Manifest digest of the last pushed version. */
  digest: z.string().optional(),
  layerDigest: z.string().optional(),
  pushedAt: z.string().optional(),
  /** Whether the tag patch of the last version reached the cluster. */
  tagPatched: z.boolean().optional(),
  state: z.enum(['idle', 'waiting', 'building', 'pushing', 'retrying', 'paused', 'error']),
  lastError: z.string().optional(),
  /** The structured problems of a `manifest-invalid` lastError. */
  problems: z.array(ManifestProblemView).optional(),
  pendingRequests: z.array(z.string()),
  /** `ksail-fluxd rollback` moved the cluster back to `version`; the next real save moves it on. */
  rolledBack: z.object({ version: z.string(), latest: z.string() }).optional(),
  /** The revision (`<tag>@<digest>`) Flux last reported applied for this source. */
  appliedRevision: z.string().optional(),
  lastReconcile: LastReconcile.optional(),
  /** The latest versions' times from save to push, tag patched and applied, oldest first. */
  timings: z.array(VersionTiming).optional(),
});
export type SourceStatus = z.infer<typeof SourceStatus>;

export const DaemonStatus = z.object({
  pid: z.number(),
  version: z.string(),
  mode: z.enum(['Automatic', 'Manual']),
  paused: z.boolean(),
  startedAt: z.string(),
  registry: z.object({
    status: z.enum(['NotProvisioned', 'Provisioning', 'Running', 'Error']),
    endpoint: z.string(),
    lastError: z.string().optional(),
  }),
  cluster: z.object({
    reachable: z.boolean(),
    /**
     * not-configured: no kubeconfig (push-only use; tags are not patched); not-used: gitOpsEngine is not Flux.
     * Optional: an older daemon does not send it.
     */
    state: z.enum(['reachable', 'unreachable', 'not-configured', 'not-used']).optional(),
    lastError: z.string().optional(),
  }),
  sources: z.array(SourceStatus),
  recentRequests: z.array(RequestView),
});
export type DaemonStatus = z.infer<typeof DaemonStatus>;

/** One line of `GET /v1/events` (NDJSON). */
export const DaemonEvent = z.object({
  type: z.enum([
    'change',
    'build',
    'dropped',
    'unchanged',
    'push',
    'patch',
    'request-queued',
    'reconcile-started',
    'reconcile-finished',
    'paused',
    'resumed',
    'config-reloaded',
    'error',
  ]),
  at: z.string(),
  source: z.string().optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type DaemonEvent = z.infer<typeof DaemonEvent>;

export const ReconcileBody = z.strictObject({
  sources: z.array(z.string().min(1)).default([]),
  wait: z.boolean().default(false),
});
export type ReconcileBody = z.infer<typeof ReconcileBody>;

export const PushBody = z.strictObject({
  sources: z.array(z.string().min(1)).default([]),
  /** Answer with each source's publish result (`ksail-fluxd push`), rather than once the runs are scheduled. */
  wait: z.boolean().default(false),
  bump: z.enum(['patch', 'minor', 'major']).optional(),
  version: z.string().min(1).optional(),
});
export type PushBody = z.infer<typeof PushBody>;

/** `POST /v1/sources/{name}/rollback`; without a version, the one before what the cluster runs. */
export const RollbackBody = z.strictObject({ version: z.string().min(1).optional() });
export type RollbackBody = z.infer<typeof RollbackBody>;

/** One source's answer to a push with `wait`: what the publisher returned, or its error. */
export const PushOutcome = z.union([
  z.object({
    source: z.string(),
    repository: z.string(),
    outcome: z.enum(['pushed', 'unchanged', 'dry-run', 'dropped']),
    version: z.string().optional(),
    manifestDigest: z.string().optional(),
    layerDigest: z.string(),
    fileCount: z.number(),
    size: z.number(),
    elapsedMs: z.number(),
    warnings: z.array(z.string()),
  }),
  z.object({ source: z.string(), error: z.string(), code: z.string() }),
]);
export type PushOutcome = z.infer<typeof PushOutcome>;

export const PushResponse = z.object({
  scheduled: z.array(z.string()),
  /** With `wait`: one per scheduled source, in the same order. */
  results: z.array(PushOutcome).optional(),
});
export type PushResponse = z.infer<typeof PushResponse>;

export const ReconcileResponse = z.object({ requests: z.array(RequestView) });
export type ReconcileResponse = z.infer<typeof ReconcileResponse>;

/** `GET /v1/sources/{name}/versions`: the registry's versions, newest first, and which ones prune would keep. */
export const VersionsView = z.object({
  source: z.string(),
  /** The source's `keep`. */
  keep: z.number(),
  /** What the cluster runs (its OCIRepository's tag, the Kustomization's last applied revision), when it answers. */
  cluster: z.object({ tag: z.string().optional(), appliedRevision: z.string().optional() }).optional(),
  /** Why `cluster` is missing: Flux is off, or the cluster did not answer. */
  clusterUnknown: z.string().optional(),
  versions: z.array(
    z.object({
      version: z.string(),
      digest: z.string(),
      created: z.string().optional(),
      /** `prune` would keep it (the `keep` highest, and those the cluster uses). */
      kept: z.boolean(),
      /** The cluster's tag, its stored artifact or its last applied revision; else the daemon's last ones. */
      inUse: z.boolean(),
    }),
  ),
});
export type VersionsView = z.infer<typeof VersionsView>;

/** `GET /v1/ui`: the dashboard's first URL, with its token (only over the 0600 socket, or to a page that has it). */
export const UiView = z.object({ url: z.string() });
export type UiView = z.infer<typeof UiView>;

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** What the daemon core offers the control server. */
export interface DaemonControl {
  status(): DaemonStatus;
  /** Queues (Automatic) or triggers (Manual) reconciliation; unknown source names throw KsailError('source-not-found'). */
  reconcile(body: ReconcileBody): Promise<ReconcileResponse>;
  request(id: string): RequestView | undefined;
  /** Subscribes to events; returns the unsubscribe function. */
  subscribe(listener: (event: DaemonEvent) => void): () => void;
  pause(): void;
  resume(): void;
  /** Builds now (all sources when empty); resolves when the runs have been scheduled, or with `wait` when done. */
  push(body: PushBody): Promise<PushResponse>;
  /** Moves the source's tag back, reconciles and waits for Flux's verdict (src/publish/rollback.ts). */
  rollback(name: string, body: RollbackBody): Promise<RollbackResult>;
  /** The versions of one source in the registry; throws source-not-found, registry-unreachable. */
  versions(name: string): Promise<VersionsView>;
  /** The dashboard's URL; throws KsailError('ui-disabled') when it is off. */
  ui(): UiView;
}
