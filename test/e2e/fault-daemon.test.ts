import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startFaultyProxy } from '../support/faulty-proxy.js';
import { configMap } from '../support/project.js';
import { rawExchange } from '../support/socket-http.js';
import { readLayer } from '../support/tar-layer.js';
import {
  createCleanup,
  createDaemonProject,
  ensureBuilt,
  isEvent,
  registryPort,
  startDaemon,
  WAIT,
  type DaemonProcess,
  type DaemonProject,
} from './daemon-harness.js';
import { registryTags } from './daemon-readers.js';

/**
 * Fault suite (issue #13), the daemon side: SIGTERM during a push, 10,000 malformed socket requests, hostile
 * files in a source, a SIGHUP storm, and a full state directory. Scenarios that other files already cover are
 * listed in the README (Guarantees). Each bounds its loops and waits; the figures go to the console.
 */
const endpoint = inject('registryEndpoint');
const cleanup = createCleanup();
const root = process.getuid?.() === 0;

const newProject = async (options: Parameters<typeof createDaemonProject>[0]): Promise<DaemonProject> => {
  const project = await createDaemonProject(options);
  cleanup.add(() => project.remove());
  return project;
};
const start = async (project: DaemonProject): Promise<DaemonProcess> => {
  const daemon = await startDaemon(project);
  cleanup.add(() => daemon.dispose());
  return daemon;
};
const pushedFirst = (daemon: DaemonProcess) =>
  vi.waitFor(async () => expect((await daemon.source('app')).lastVersion).toBe('1.0.0'), WAIT);
const rssKb = async (pid: number): Promise<number> =>
  Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** Entry names and sizes of the artifact `repository:tag`, read back from the registry. */
const artifactEntries = async (repository: string, tag: string): Promise<Map<string, number>> => {
  const manifest = (await (
    await fetch(`http://${endpoint}/v2/${repository}/manifests/${tag}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
  ).json()) as { layers: { digest: string }[] };
  const blob = await fetch(`http://${endpoint}/v2/${repository}/blobs/${manifest.layers[0]?.digest ?? ''}`);
  const entries = await readLayer(Buffer.from(await blob.arrayBuffer()));
  return new Map(entries.map((entry) => [entry.header.name, entry.content.length]));
};

describe('fault suite: the daemon (e2e, issue #13)', () => {
  beforeAll(() => ensureBuilt());
  afterEach(() => cleanup.run());

  it('finishes the push in flight on SIGTERM, exits 0, and the restart pushes nothing twice', async () => {
    const proxy = await startFaultyProxy(endpoint);
    cleanup.add(() => proxy.close());
    const project = await newProject({ registryPort: proxy.port, config: { gitOpsEngine: 'Kubectl' } });
    const daemon = await start(project);
    await pushedFirst(daemon);
    const held = proxy.hold((method, url) => method === 'PUT' && url.includes('/manifests/'));
    cleanup.add(() => Promise.resolve(held.drop()));
    await project.write('configmap.yaml', configMap('hello', { message: 'two' }));
    await vi.waitFor(() => expect(held.requests.some((request) => request.received)).toBe(true), WAIT);
    const stopped = daemon.stop('SIGTERM');
    await held.release();
    const result = await stopped;
    expect(result.exitCode).toBe(0);
    expect(await registryTags(endpoint, project.repository)).toEqual(['1.0.0', '1.0.1']);
    const again = await start(project);
    await vi.waitFor(
      async () => expect(await again.source('app')).toMatchObject({ lastVersion: '1.0.1', state: 'idle' }),
      WAIT,
    );
    expect(await registryTags(endpoint, project.repository)).toEqual(['1.0.0', '1.0.1']);
    console.info('fault suite: SIGTERM mid-push: exit 0, versions 1.0.0 1.0.1, none skipped or duplicated');
  });

  it('answers 10,000 malformed socket requests with 4xx and keeps serving', async () => {
    const project = await newProject({ registryPort: registryPort(), config: { gitOpsEngine: 'Kubectl' } });
    const daemon = await start(project);
    await pushedFirst(daemon);
    const before = await rssKb(daemon.pid);
    const close = 'Connection: close\r\n';
    const kinds = [
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]),
      Buffer.from(
        `POST /v1/reconcile HTTP/1.1\r\nHost: x\r\n${close}Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{"so"`,
      ),
      Buffer.from(`GET /v1/nothing HTTP/1.1\r\nHost: x\r\n${close}\r\n`),
      Buffer.from(`DELETE /v1/status HTTP/1.1\r\nHost: x\r\n${close}\r\n`),
      Buffer.from(
        `POST /v1/push HTTP/1.1\r\nHost: x\r\n${close}Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi`,
      ),
      Buffer.from(`GET /v1/requests/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${close}\r\n`),
    ];
    const total = 10_000;
    const statuses = new Map<string, number>();
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      for (let index = next++; index < total; index = next++) {
        const answer = await rawExchange(project.socketPath, kinds[index % kinds.length]!);
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'none';
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const elapsed = performance.now() - started;
    const after = await rssKb(daemon.pid);
    expect(
      [...statuses.keys()].every((status) => /^4\d\d$/.test(status)),
      JSON.stringify([...statuses]),
    ).toBe(true);
    expect((await daemon.status()).sources[0]?.name).toBe('app');
    expect(after - before).toBeLessThan(64 * 1024);
    console.info(
      `fault suite: ${total} malformed requests: all 4xx (${JSON.stringify(Object.fromEntries(statuses))}) in ${Math.round(elapsed)} ms, RSS ${Math.round(before / 1024)} -> ${Math.round(after / 1024)} MB`,
    );
  });

  it('packs what Flux can hold from a hostile source, skips the rest with a warning, and names a bad file name', async () => {
    const project = await newProject({ registryPort: registryPort(), config: { gitOpsEngine: 'Kubectl' } });
    const dir = project.sourceDir;
    await symlink('/', join(dir, 'root-link'));
    await symlink('/etc/passwd', join(dir, 'passwd.yaml'));
    await execa('mkfifo', [join(dir, 'pipe')]);
    if (root) await execa('mknod', [join(dir, 'null-device'), 'c', '1', '3']);
    await writeFile(join(dir, 'new\nline.txt'), 'newline');
    const long = `${'d'.repeat(90)}/${'f'.repeat(150)}.txt`;
    await mkdir(join(dir, 'd'.repeat(90)));
    await writeFile(join(dir, long), 'long');
    const big = randomBytes(50 * 1024 * 1024);
    await writeFile(join(dir, 'big.bin'), big);
    const latin1 = Buffer.concat([
      Buffer.from(`${dir}/`),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]),
    ]);
    await writeFile(latin1, 'latin-1 name');

    const daemon = await start(project);
    await vi.waitFor(async () => expect((await daemon.source('app')).state).toBe('error'), WAIT);
    const refused = await daemon.source('app');
    expect(refused.lastError).toContain(`${dir}/caf\\xe9.txt`);
    expect(refused.lastError).toMatch(/not valid UTF-8.*rename it/);
    expect(refused.lastError).not.toMatch(/disappeared/);

    const from = daemon.mark();
    await rm(latin1);
    const pushed = await daemon.waitForEvent(isEvent('push', { data: { version: '1.0.0' } }), from, 60_000);
    const entries = await artifactEntries(project.repository, '1.0.0');
    expect([...entries.keys()].sort()).toEqual(
      ['.', 'big.bin', 'configmap.yaml', 'd'.repeat(90), long, 'kustomization.yaml', 'new\nline.txt'].sort(),
    );
    expect(entries.get('big.bin')).toBe(big.length);
    const warnings = (pushed.data.warnings ?? []) as string[];
    expect(warnings.join('\n')).toMatch(/skipped symlink passwd\.yaml/);
    expect(warnings.join('\n')).toMatch(/skipped symlink root-link/);
    expect(warnings.join('\n')).toMatch(/skipped pipe: not a regular file/);
    if (root) expect(warnings.join('\n')).toMatch(/skipped null-device: not a regular file/);
    console.info(
      `fault suite: hostile source: ${entries.size - 1} entries packed (50 MB file included), ${warnings.length} skipped with a warning, non-UTF-8 name refused naming the file`,
    );
  });

  it('survives a storm of 50 SIGHUPs and still pushes the next save', async () => {
    const project = await newProject({ registryPort: registryPort(), config: { gitOpsEngine: 'Kubectl' } });
    const daemon = await start(project);
    await pushedFirst(daemon);
    const from = daemon.mark();
    for (let signal = 0; signal < 50; signal += 1) daemon.child.kill('SIGHUP');
    await vi.waitFor(
      () => expect(daemon.eventsSince(from, isEvent('config-reloaded')).length).toBeGreaterThan(0),
      WAIT,
    );
    await project.write('configmap.yaml', configMap('hello', { message: 'after the storm' }));
    await daemon.waitForEvent(isEvent('push', { data: { version: '1.0.1' } }), from);
    const status = await daemon.status();
    expect(status.sources.map((source) => source.name)).toEqual(['app']);
    const reloads = daemon.eventsSince(from, isEvent('config-reloaded')).length;
    console.info(`fault suite: 50 SIGHUPs: alive, ${reloads} reloads, one source, next save pushed`);
  });

  it.runIf(root)(
    'names the full state directory and what to free, and pushes by itself once there is room',
    async () => {
      const project = await newProject({ registryPort: registryPort(), config: { gitOpsEngine: 'Kubectl' } });
      // The state directory of the daemon (HOME is the project directory) on a 1 MiB tmpfs.
      const state = join(project.dir, '.local/state/ksail-fluxd');
      await mkdir(state, { recursive: true });
      await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', state]);
      cleanup.add(() => execa('umount', ['-l', state], { reject: false }));
      const daemon = await start(project);
      await pushedFirst(daemon);
      const filler = join(state, 'filler');
      const handle = await open(filler, 'w');
      await handle.write(Buffer.alloc(1024 * 1024)).catch(() => undefined);
      await handle.close();
      const from = daemon.mark();
      await project.write('configmap.yaml', configMap('hello', { message: 'disk full' }));
      const failed = await daemon.waitForEvent(isEvent('error', { data: { code: 'disk-full' } }), from);
      expect(failed.data.error).toMatch(
        new RegExp(`no space left to write ${state}/.*free space.*retried by itself`),
      );
      await rm(filler);
      await daemon.waitForEvent(isEvent('push', { data: { version: '1.0.1' } }), from, 45_000);
      console.info(
        'fault suite: disk full on a 1 MiB tmpfs: path named, pushed by itself once space was back',
      );
    },
  );
});
