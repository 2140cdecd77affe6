import { createRequire } from 'node:module';
import type Dockerode from 'dockerode';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { describeError, KsailError } from '../../errors.js';
import type { ContainerInfo, ContainerSpec, DockerEngine, PortBinding } from './docker-engine.js';

/** The slice of `docker inspect` we read, validated rather than trusted (HostConfig.PortBindings is untyped). */
export const DockerInspect = z.object({
  Id: z.string(),
  Name: z.string().optional(),
  Image: z.string().optional(),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    Restarting: z.boolean().optional(),
    ExitCode: z.number().optional(),
    Error: z.string().optional(),
    OOMKilled: z.boolean().optional(),
    StartedAt: z.string().optional(),
  }),
  Config: z.object({
    Image: z.string().optional(),
    Cmd: z.array(z.string()).nullish(),
    Labels: z.record(z.string(), z.string()).nullish(),
  }),
  HostConfig: z.object({
    PortBindings: z
      .record(
        z.string(),
        z.array(z.object({ HostIp: z.string().optional(), HostPort: z.string().optional() })).nullable(),
      )
      .nullish(),
  }),
  NetworkSettings: z.object({ Networks: z.record(z.string(), z.unknown()).nullish() }).optional(),
  Mounts: z
    .array(
      z.object({
        Type: z.string(),
        Name: z.string().optional(),
        Source: z.string(),
        Destination: z.string(),
      }),
    )
    .nullish(),
});
export type DockerInspect = z.infer<typeof DockerInspect>;

/** The slice of `GET /system/df` we read: volume sizes (-1 while Docker has not computed them). */
export const DiskUsage = z.object({
  Volumes: z
    .array(z.object({ Name: z.string(), UsageData: z.object({ Size: z.number() }).nullish() }))
    .nullish(),
});
export type DiskUsage = z.infer<typeof DiskUsage>;

/** Docker's inspect answer in our terms. */
export const containerInfoOf = (raw: unknown): ContainerInfo => {
  const info = DockerInspect.parse(raw);
  const bindings = Object.entries(info.HostConfig.PortBindings ?? {}).flatMap(([containerPort, list]) =>
    (list ?? []).map((b): PortBinding => ({
      containerPort,
      hostIp: b.HostIp || '0.0.0.0',
      hostPort: b.HostPort ?? '',
    })),
  );
  return {
    id: info.Id,
    name: (info.Name ?? '').replace(/^\//, ''),
    image: info.Config.Image ?? '',
    imageId: info.Image ?? '',
    status: info.State.Status,
    running: info.State.Running,
    restarting: info.State.Restarting ?? false,
    exitCode: info.State.ExitCode ?? 0,
    error: info.State.Error ?? '',
    oomKilled: info.State.OOMKilled ?? false,
    startedAt: info.State.StartedAt ?? '',
    cmd: info.Config.Cmd ?? [],
    labels: info.Config.Labels ?? {},
    networks: Object.keys(info.NetworkSettings?.Networks ?? {}),
    bindings,
    mounts: (info.Mounts ?? []).map((m) => ({
      type: m.Type,
      name: m.Name,
      source: m.Source,
      destination: m.Destination,
    })),
  };
};

const createOptions = (spec: ContainerSpec): Dockerode.ContainerCreateOptions => ({
  name: spec.name,
  Image: spec.image,
  Labels: spec.labels,
  Env: spec.env,
  ExposedPorts: { [spec.port.containerPort]: {} },
  HostConfig: {
    PortBindings: { [spec.port.containerPort]: [{ HostIp: spec.port.hostIp, HostPort: spec.port.hostPort }] },
    RestartPolicy: { Name: spec.restart },
    Mounts: [{ Type: spec.mount.type, Source: spec.mount.source, Target: spec.mount.target }],
  },
});

/**
 * Docker multiplexes stdout and stderr of a container without a TTY into frames: an 8-byte header (stream type,
 * 3 zero bytes, big-endian length) and the payload. Returns the payloads in order, as text.
 */
export const demuxDockerOutput = (buffer: Buffer): string => {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    if (type !== 0 && type !== 1 && type !== 2) return buffer.toString('utf8'); // not multiplexed after all
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
};

const collect = (stream: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });

/** An engine that does not answer becomes runtime-unavailable; other errors pass through unchanged. */
export const dockerError = (error: unknown): unknown => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ETIMEDOUT') {
    return new KsailError(
      'runtime-unavailable',
      `the Docker engine does not answer (${describeError(error)}); start Docker, check DOCKER_HOST and that you may use the Docker socket, or set registry.runtime to process or external`,
      { cause: error },
    );
  }
  return error;
};

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number }).statusCode;

/** Runs `call`, maps 404 to `notFound` and an unreachable engine to runtime-unavailable. */
const answer = async <T>(call: () => Promise<T>, notFound: T): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    if (statusOf(error) === 404) return notFound;
    throw dockerError(error);
  }
};

const wrap = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    throw dockerError(error);
  }
};

/**
 * dockerode (with docker-modem and ssh2, whose WebAssembly module reserves 16 MB) costs about 25 MB of RSS and
 * 150 ms to load, so it is required only when a Docker engine is really built, not by every command and daemon.
 */
export const createDockerodeEngine = (clock: Clock, docker?: Dockerode): DockerEngine => {
  const client = docker ?? new (createRequire(import.meta.url)('dockerode') as typeof Dockerode)();
  const container = (id: string): Dockerode.Container => client.getContainer(id);
  return {
    ping: (signal) =>
      // @types/dockerode omits ping's options; dockerode passes abortSignal through to the request.
      wrap(async () => {
        await (client.ping.bind(client) as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>)({
          abortSignal: signal,
        });
      }),
    inspectContainer: (id) => answer(async () => containerInfoOf(await container(id).inspect()), undefined),
    createContainer: (spec) => wrap(async () => (await client.createContainer(createOptions(spec))).id),
    startContainer: async (id) => {
      try {
        await container(id).start();
        return 'started';
      } catch (error) {
        if (statusOf(error) === 304) return 'already-running';
        throw dockerError(error);
      }
    },
    stopContainer: async (id, graceSeconds) => {
      try {
        await container(id).stop({ t: graceSeconds });
      } catch (error) {
        if (statusOf(error) !== 304) throw dockerError(error);
      }
    },
    restartContainer: (id, graceSeconds) => wrap(() => container(id).restart({ t: graceSeconds })),
    removeContainer: (id, { force }) => wrap(() => container(id).remove({ force, v: false })),
    listRunning: () =>
      wrap(async () =>
        (await client.listContainers()).map((c) => ({
          id: c.Id,
          name: (c.Names[0] ?? '').replace(/^\//, ''),
          publicPorts: c.Ports.flatMap((p) => (p.PublicPort ? [p.PublicPort] : [])),
        })),
      ),
    imageId: (reference) =>
      answer(
        async () => z.object({ Id: z.string() }).parse(await client.getImage(reference).inspect()).Id,
        undefined,
      ),
    pullImage: (reference, onProgress) =>
      wrap(async () => {
        const stream = await client.pull(reference);
        await new Promise<void>((resolve, reject) => {
          // docker-modem's callbacks are untyped; each event is {status, id?, progress?, error?}.
          (client.modem as { followProgress: (...args: unknown[]) => void }).followProgress(
            stream,
            (error: Error | null) => (error ? reject(error) : resolve()),
            (event: { status?: string; id?: string; progress?: string }) =>
              onProgress?.([event.id, event.status, event.progress].filter(Boolean).join(' ')),
          );
        });
      }),
    volumeExists: (name) =>
      answer(async () => {
        await client.getVolume(name).inspect();
        return true;
      }, false),
    volumeLabels: (name) =>
      answer(
        async () =>
          z
            .object({ Labels: z.record(z.string(), z.string()).nullish() })
            .parse(await client.getVolume(name).inspect()).Labels ?? {},
        undefined,
      ),
    createVolume: (name, labels) =>
      wrap(async () => {
        await client.createVolume({ Name: name, Labels: labels });
      }),
    removeVolume: (name) => answer(async () => void (await client.getVolume(name).remove()), undefined),
    volumeBytes: (name) =>
      wrap(async () => {
        const usage = DiskUsage.parse(await client.df());
        const size = usage.Volumes?.find((v) => v.Name === name)?.UsageData?.Size;
        return size === undefined || size < 0 ? undefined : size;
      }),
    networkExists: (name) =>
      answer(async () => {
        await client.getNetwork(name).inspect();
        return true;
      }, false),
    connectNetwork: async (network, containerId) => {
      try {
        await client.getNetwork(network).connect({ Container: containerId });
      } catch (error) {
        if (!/already exists/i.test(describeError(error))) throw dockerError(error);
      }
    },
    exec: (containerId, cmd) =>
      wrap(async () => {
        const exec = await container(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const output = demuxDockerOutput(await collect(stream));
        // Docker reports the exit code after the stream ends.
        for (let attempt = 0; attempt < 50; attempt++) {
          const state = await exec.inspect();
          if (!state.Running) return { exitCode: state.ExitCode, output };
          await clock.sleep(100);
        }
        return { exitCode: null, output };
      }),
    logTail: async (containerId, lines) => {
      try {
        const logs = await container(containerId).logs({
          stdout: true,
          stderr: true,
          tail: lines,
          follow: false,
        });
        return demuxDockerOutput(logs).trim();
      } catch {
        return '';
      }
    },
  };
};
