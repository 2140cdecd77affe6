// Push benchmark (issue #2): in-process `push` of a small and a large source versus GNU tar + gzip + curl.
import { spawnSync } from 'node:child_process';
import { readFile, writeFile, appendFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeSource, median, resolvedSource } from './fixtures.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const load = async () => {
  const { publishSource } = await import('../dist/publish/publish-source.js');
  const { createRegistryClient } = await import('../dist/registry/client/client.js');
  const { systemClock } = await import('../dist/clock.js');
  const { createSilentLogger } = await import('../dist/logger.js');
  return { publishSource, createRegistryClient, systemClock, createSilentLogger };
};

const source = (name, dir) => resolvedSource(name, dir, `bench/${name}`);

const curl = (args) => {
  const result = spawnSync('curl', ['-sS', '-f', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`curl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

/** A monolithic blob upload with curl: POST for the session, PUT of the bytes (`@file` or inline) with the digest. */
const curlUpload = (port, repository, digest, data) => {
  const location = curl([
    '-X',
    'POST',
    '-o',
    '/dev/null',
    '-w',
    '%header{location}',
    `http://127.0.0.1:${port}/v2/${repository}/blobs/uploads/`,
  ]);
  const url = new URL(location, `http://127.0.0.1:${port}`);
  url.searchParams.set('digest', digest);
  // Without a content type curl sends a form type, and the registry parses (consumes) the body as a form.
  curl(['-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '--data-binary', data, url.toString()]);
};

/**
 * tar | gzip of the same tree, then a curl monolithic upload and a manifest PUT. With `split`, also records the
 * milliseconds of tar | gzip (`pack`) and of the uploads (`upload`).
 */
export const baseline = async (dir, port, repository, work, split) => {
  const started = performance.now();
  const archive = join(work, 'baseline.tar.gz');
  const tar = spawnSync('sh', [
    '-c',
    'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf - . | gzip -n > "$2"',
    'sh',
    dir,
    archive,
  ]);
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  const packed = performance.now();
  const bytes = await readFile(archive);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  curlUpload(port, repository, digest, `@${archive}`);
  const config = '{}';
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  curlUpload(port, repository, configDigest, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.cncf.flux.config.v1+json', digest: configDigest, size: 2 },
    layers: [{ mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip', digest, size: bytes.length }],
  });
  const manifestFile = join(work, 'manifest.json');
  await writeFile(manifestFile, manifest);
  curl([
    '-X',
    'PUT',
    '-H',
    'Content-Type: application/vnd.oci.image.manifest.v1+json',
    '--data-binary',
    `@${manifestFile}`,
    `http://127.0.0.1:${port}/v2/${repository}/manifests/baseline-${Date.now()}`,
  ]);
  const finished = performance.now();
  if (split) Object.assign(split, { pack: packed - started, upload: finished - packed });
  return finished - started;
};

export const benchPush = async ({ work, port }) => {
  const lib = await load();
  const client = lib.createRegistryClient({ endpoint: `localhost:${port}`, clock: lib.systemClock });
  const logger = lib.createSilentLogger();
  const cases = [
    {
      name: 'small',
      files: 100,
      bytes: 200 * 1024,
      target: (ours) => `target <= 150 ms: ${ours <= 150 ? 'met' : 'MISSED'}`,
    },
    {
      name: 'large',
      files: 2000,
      bytes: 20 * 1024 * 1024,
      target: (ours, base) => `target ratio <= 1.5: ${ours / base <= 1.5 ? 'met' : 'MISSED'}`,
    },
  ];
  console.log(`\n== push (issue #2), ${RUNS} runs each, in-process (Node start-up excluded) ==`);
  for (const c of cases) {
    const dir = join(work, c.name);
    await writeSource(dir, c.files, c.bytes, c.files);
    const src = source(c.name, dir);
    // Warm-up: first push creates the repository.
    await lib.publishSource({ source: src, client, clock: lib.systemClock, logger });
    const ours = [];
    const base = [];
    for (let i = 0; i < RUNS; i++) {
      await appendFile(join(dir, 'group-000', 'cm-0.yaml'), `  run-${i}: "${Date.now()}"\n`);
      const started = performance.now();
      const result = await lib.publishSource({ source: src, client, clock: lib.systemClock, logger });
      ours.push(performance.now() - started);
      if (result.outcome !== 'pushed') throw new Error(`expected a push, got ${result.outcome}`);
      base.push(await baseline(dir, port, `bench/${c.name}-baseline`, work));
    }
    const o = median(ours);
    const b = median(base);
    console.log(
      `push ${c.name.padEnd(5)} ${String(c.files).padStart(4)} files ${(c.bytes / 1024 / 1024).toFixed(1).padStart(5)} MiB: ` +
        `ksail-fluxd median ${o.toFixed(1)} ms | tar+gzip+curl median ${b.toFixed(1)} ms | ratio ${(o / b).toFixed(2)} | ${c.target(o, b)}`,
    );
  }
};
