// Incremental layers (issue #10): a one-file edit in the 2,000-file / 20 MiB source, pushed in-process with the
// daemon's per-source caches (incremental), without them (cold, as a one-shot `push`), and by GNU tar + gzip +
// curl (the floor), side by side in each run; and the size of the multi-member layer against one gzip stream.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { figure } from './figures.mjs';
import { writeSource, median, resolvedSource } from './fixtures.mjs';
import { baseline } from './push.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const FILES = 2000;
const BYTES = 20 * 1024 * 1024;

const load = async () => {
  const { publishSource } = await import('../dist/publish/publish-source.js');
  const { createRegistryClient } = await import('../dist/registry/client/client.js');
  const { systemClock } = await import('../dist/clock.js');
  const { createSilentLogger } = await import('../dist/logger.js');
  const artifact = await import('../dist/artifact/index.js');
  return { publishSource, createRegistryClient, systemClock, createSilentLogger, ...artifact };
};

export const benchIncremental = async ({ work, port }) => {
  const lib = await load();
  const clock = lib.systemClock;
  const client = lib.createRegistryClient({ endpoint: `localhost:${port}`, clock });
  const logger = lib.createSilentLogger();
  const dir = join(work, 'incremental');
  await writeSource(dir, FILES, BYTES, 7);
  const caches = {
    validationCache: lib.createValidationCache(),
    layerCache: lib.createLayerCache({ clock }),
  };
  const incremental = resolvedSource('incremental', dir, 'bench/incremental');
  const cold = resolvedSource('incremental', dir, 'bench/incremental-cold');
  const push = async (source, withCaches, outcome = 'pushed') => {
    const started = performance.now();
    const result = await lib.publishSource({ source, client, clock, logger, ...(withCaches ? caches : {}) });
    const ms = performance.now() - started;
    if (result.outcome !== outcome) throw new Error(`expected ${outcome}, got ${result.outcome}`);
    return { ms, result };
  };
  console.log(
    `\n== incremental layers (issue #10), ${RUNS} runs, one-file edit in ${FILES} files / ${BYTES / 1024 / 1024} MiB, in-process ==`,
  );
  // Warm-up: the repositories exist and the caches are full. Files are trusted by their lstat signature only
  // once they are 2 s old (the racy margin), so the second warm-up also finds the fixture settled.
  for (let i = 0; i < 2; i++) {
    await appendFile(join(dir, 'group-000', 'cm-0.yaml'), `  warm-${i}: "${Date.now()}"\n`);
    await push(incremental, true);
    await push(cold, false);
  }
  const times = { incremental: [], cold: [], floor: [], unchanged: [], floorUpload: [] };
  let sizes;
  for (let i = 0; i < RUNS; i++) {
    await appendFile(join(dir, 'group-000', 'cm-0.yaml'), `  run-${i}: "${Date.now()}"\n`);
    const a = await push(incremental, true);
    const b = await push(cold, false);
    times.incremental.push(a.ms);
    times.cold.push(b.ms);
    const split = {};
    times.floor.push(await baseline(dir, port, 'bench/incremental-floor', work, split));
    times.floorUpload.push(split.upload);
    // The same publish without an edit: build and compare only, no upload (what a no-op save costs).
    times.unchanged.push((await push(incremental, true, 'unchanged')).ms);
    // Determinism: the incremental and the cold build of the same tree are the same bytes.
    if (a.result.layerDigest !== b.result.layerDigest) {
      throw new Error(`incremental layer ${a.result.layerDigest} differs from cold ${b.result.layerDigest}`);
    }
    if (i === RUNS - 1) {
      const collected = await lib.collectSource({ sourceDir: dir });
      const oneStream = gzipSync(await lib.packTar(collected.entries)).length;
      sizes = { layer: a.result.size, oneStream };
    }
  }
  const [inc, cld, floor, same, floorUpload] = [
    times.incremental,
    times.cold,
    times.floor,
    times.unchanged,
    times.floorUpload,
  ].map(median);
  const sizeRatio = sizes.layer / sizes.oneStream;
  const edit = 'one-file edit in 2,000 files / 20 MiB, in-process';
  figure('incremental', `${edit}: incremental push`, inc, 'ms');
  figure('incremental', `${edit}: cold push`, cld, 'ms');
  figure('incremental', `${edit}: tar+gzip+curl`, floor, 'ms');
  figure('incremental', `${edit}: incremental / tar+gzip+curl`, inc / floor, 'ratio', {
    target: '<= 0.1',
    met: inc / floor <= 0.1,
  });
  figure('incremental', `${edit}: unchanged publish (build + compare)`, same, 'ms');
  figure('incremental', `${edit}: the floor's curl uploads alone`, floorUpload, 'ms');
  figure('incremental', 'layer size / one gzip stream, 2,000 files / 20 MiB', sizeRatio, 'ratio', {
    target: '<= 1.3',
    met: sizeRatio <= 1.3,
  });
  const { files, members, bytes } = caches.layerCache.stats;
  console.log(
    `one-file edit: incremental median ${inc.toFixed(1)} ms | cold median ${cld.toFixed(1)} ms | tar+gzip+curl median ${floor.toFixed(1)} ms`,
  );
  console.log(
    `  incremental/floor ${(inc / floor).toFixed(3)} (target <= 0.1: ${inc / floor <= 0.1 ? 'met' : 'MISSED'}) | ` +
      `cold/floor ${(cld / floor).toFixed(2)} | incremental/cold ${(inc / cld).toFixed(3)}`,
  );
  // The push minus the unchanged publish is about the upload: the registry takes the new layer whole, as it takes
  // the floor's archive from curl, so the floor's own upload is a lower bound of any push of this source.
  console.log(
    `  profile: unchanged publish (build + compare, no upload) median ${same.toFixed(1)} ms = ${(same / floor).toFixed(3)} x floor; ` +
      `our upload + manifest about ${(inc - same).toFixed(1)} ms for ${(sizes.layer / 1024 / 1024).toFixed(1)} MiB; ` +
      `the floor's curl uploads alone median ${floorUpload.toFixed(1)} ms = ${(floorUpload / floor).toFixed(3)} x floor`,
  );
  console.log(
    `  layer ${sizes.layer} bytes, one gzip stream of the same tar ${sizes.oneStream} bytes: ratio ${sizeRatio.toFixed(3)} ` +
      `(target <= 1.3: ${sizeRatio <= 1.3 ? 'met' : 'MISSED'}) | cache: ${files} files, ${members} members, ${(bytes / 1024 / 1024).toFixed(1)} MiB`,
  );
  // Small files compress worse as separate members; the other bench sources' shapes.
  for (const shape of [
    { name: 'push small', files: 100, bytes: 200 * 1024 },
    { name: 'idle', files: 1000, bytes: 1000 * 300 },
  ]) {
    const shapeDir = join(work, `incremental-${shape.files}`);
    await writeSource(shapeDir, shape.files, shape.bytes, 11);
    const built = await lib.buildLayer({ sourceDir: shapeDir });
    const collected = await lib.collectSource({ sourceDir: shapeDir });
    const oneStream = gzipSync(await lib.packTar(collected.entries)).length;
    const ratio = built.layerSize / oneStream;
    figure('incremental', `layer size / one gzip stream, ${shape.name} source`, ratio, 'ratio', {
      target: '<= 1.3',
      met: ratio <= 1.3,
    });
    console.log(
      `  ${shape.name} source (${shape.files} files / ${Math.round(shape.bytes / 1024)} KiB): layer ${built.layerSize} bytes, ` +
        `one stream ${oneStream} bytes: ratio ${ratio.toFixed(3)} (target <= 1.3: ${ratio <= 1.3 ? 'met' : 'MISSED'})`,
    );
  }
};
