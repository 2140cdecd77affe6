// `npm run bench`: speed targets of the issues, as medians and ratios. Runs against a real registry process
// (Debian's docker-registry) on a random loopback port. Sections: push (issue #2).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { writeSource, median } from './fixtures.mjs';
import { benchPush } from './push.mjs';

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const startRegistry = async (work) => {
  const port = await freePort();
  const config = join(work, 'registry.yml');
  await writeFile(
    config,
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${join(work, 'registry')}}\n  delete: {enabled: true}\nhttp: {addr: "127.0.0.1:${port}"}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return { port, child };
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('registry did not start');
};

const main = async () => {
  const work = await mkdtemp(join(tmpdir(), 'ksail-fluxd-bench-'));
  const registry = await startRegistry(work);
  const sections = (process.env.BENCH_SECTIONS ?? 'push').split(',');
  try {
    console.log(`ksail-fluxd bench — registry 127.0.0.1:${registry.port}, node ${process.version}`);
    if (sections.includes('push')) await benchPush({ work, port: registry.port });
  } finally {
    registry.child.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
  }
};

await main();
