import { execa } from 'execa';
import {
  access,
  chmod,
  cp,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { whichIn } from '../../src/registry/runtime/select.js';
import { TEST_LABEL, dockerAvailable } from '../support/test-registry.js';

/**
 * Packaging: the systemd user unit passes `systemd-analyze verify`, and the Dockerfile builds an image whose
 * entrypoint is the real CLI. Docker Hub is not reachable here, so when `node:20-bookworm-slim` cannot be pulled
 * the test builds a stand-in base image from the host's own node and npm (see buildLocalNodeBase).
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OFFICIAL_BASE = 'node:20-bookworm-slim';
const LOCAL_BASE = 'ksail-fluxd-test/node-base:local';
const LABEL = `${TEST_LABEL}=true`;
/**
 * Images get their own label: containers inherit their image's labels, and the shared clean-up (removeLabelled,
 * which any concurrent integration run calls) would otherwise kill this build's intermediate containers.
 */
const IMAGE_LABEL = `${TEST_LABEL}.image=true`;
/** This run's containers (also carrying TEST_LABEL, so a crashed run's leftovers are removed by removeLabelled). */
const RUN_LABEL = `${TEST_LABEL}.packaging=${process.pid}`;

const findOnPath = whichIn(process.env);

describe('systemd user unit', () => {
  it('passes systemd-analyze verify with its ExecStart present', { timeout: 30_000 }, async () => {
    const unit = await readFile(join(repoRoot, 'systemd', 'ksail-fluxd.service'), 'utf8');
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^RestartSec=2$/m);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^ExecStart=%h\/\.local\/bin\/ksail-fluxd start .*--log-format json/m);

    // Verify the unit text as shipped: %h comes from HOME, so a temp HOME holds a stand-in executable at
    // ~/.local/bin/ksail-fluxd (verify checks that ExecStart exists and is executable) and the runtime dir that
    // a user manager needs.
    const home = await mkdtemp(join(tmpdir(), 'kfd-unit-'));
    try {
      await mkdir(join(home, '.local', 'bin'), { recursive: true });
      await writeFile(join(home, '.local', 'bin', 'ksail-fluxd'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      await mkdir(join(home, 'runtime'), { mode: 0o700 });
      await mkdir(join(home, 'units'));
      await copyFile(
        join(repoRoot, 'systemd', 'ksail-fluxd.service'),
        join(home, 'units', 'ksail-fluxd.service'),
      );
      const result = await execa(
        'systemd-analyze',
        ['--user', '--man=no', 'verify', join(home, 'units', 'ksail-fluxd.service')],
        { reject: false, env: { HOME: home, XDG_RUNTIME_DIR: join(home, 'runtime') } },
      );
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('');
      expect(result.exitCode).toBe(0);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

/**
 * A minimal image with the host's node (and its shared libraries and loader), npm, /bin/sh and /usr/bin/env,
 * a `node` user with uid 1000 and the host's CA bundle (npm's registry is reached through a TLS-inspecting
 * proxy here). Laid out like the official image: node and npm in /usr/local.
 */
const buildLocalNodeBase = async (tag: string): Promise<void> => {
  const root = await mkdtemp(join(tmpdir(), 'kfd-node-base-'));
  try {
    await chmod(root, 0o755);
    const npmCli = await findOnPath('npm');
    if (!npmCli) throw new Error('npm is not on PATH; the local base image needs it for `npm ci`');
    const npmDir = dirname(dirname(await realpath(npmCli)));
    const binaries = [
      { from: process.execPath, to: '/usr/local/bin/node' },
      { from: await realpath('/bin/sh'), to: '/bin/sh' },
      { from: await realpath((await findOnPath('env')) ?? '/usr/bin/env'), to: '/usr/bin/env' },
    ];
    for (const dir of [
      'usr/local/bin',
      'usr/local/lib/node_modules',
      'bin',
      'usr/bin',
      'etc/ssl/certs',
      'root',
      'home/node',
    ]) {
      await mkdir(join(root, dir), { recursive: true });
    }
    await mkdir(join(root, 'tmp'));
    await chmod(join(root, 'tmp'), 0o1777);
    const copyLibraries = async (file: string): Promise<void> => {
      const ldd = await execa('ldd', [file], { reject: false });
      for (const lib of ldd.stdout.match(/\/[^\s)]+/g) ?? []) {
        await mkdir(join(root, dirname(lib)), { recursive: true });
        await copyFile(await realpath(lib), join(root, lib));
      }
    };
    for (const binary of binaries) {
      await copyFile(binary.from, join(root, binary.to));
      await chmod(join(root, binary.to), 0o755);
      await copyLibraries(binary.from);
    }
    // The build stage runs Vite for the dashboard, whose native add-on (rolldown's binding) links libraries node
    // does not (librt): the official image has them, so the stand-in must too.
    const bindings = join(repoRoot, 'node_modules', '@rolldown');
    for (const entry of await readdir(bindings, { withFileTypes: true, recursive: true }).catch(() => [])) {
      if (entry.isFile() && entry.name.endsWith('.node'))
        await copyLibraries(join(entry.parentPath, entry.name));
    }
    await cp(npmDir, join(root, 'usr/local/lib/node_modules/npm'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    const caBundle = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
    const changes = ['ENV PATH=/usr/local/bin:/usr/bin:/bin', `LABEL ${IMAGE_LABEL}`, 'CMD ["node"]'];
    if (
      await access(caBundle).then(
        () => true,
        () => false,
      )
    ) {
      await copyFile(caBundle, join(root, 'etc/ssl/certs/ca-certificates.crt'));
      changes.push('ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
    }
    const archive = join(root, '..', `${root.split('/').pop() ?? 'root'}.tar`);
    await execa('tar', ['-C', root, '--owner=0', '--group=0', '--numeric-owner', '-cf', archive, '.']);
    try {
      await execa('docker', ['import', ...changes.flatMap((change) => ['--change', change]), archive, tag]);
    } finally {
      await rm(archive, { force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
};

/** The official base when it is present or pullable, else the local stand-in (as a --build-arg). */
const baseImageArgs = async (): Promise<string[]> => {
  const present = await execa('docker', ['image', 'inspect', OFFICIAL_BASE], { reject: false });
  if (present.exitCode === 0) return [];
  const pulled = await execa('docker', ['pull', OFFICIAL_BASE], { reject: false, timeout: 60_000 });
  if (pulled.exitCode === 0) return [];
  await buildLocalNodeBase(LOCAL_BASE);
  return ['--build-arg', `NODE_IMAGE=${LOCAL_BASE}`];
};

const removeLabelledImages = async (): Promise<void> => {
  const images = await execa('docker', ['images', '-aq', '--filter', `label=${IMAGE_LABEL}`], {
    reject: false,
  });
  const ids = [...new Set(images.stdout.split('\n').filter(Boolean))];
  if (ids.length) await execa('docker', ['rmi', '-f', ...ids], { reject: false });
  // Intermediate images of the other stages inherit the label from the local base image.
  await execa('docker', ['image', 'prune', '-f', '--filter', `label=${IMAGE_LABEL}`], { reject: false });
};

describe.runIf(await dockerAvailable())('Dockerfile', () => {
  const tag = `ksail-fluxd-test/app:${process.pid}`;

  afterAll(async () => {
    const containers = await execa('docker', ['ps', '-aq', '--filter', `label=${RUN_LABEL}`], {
      reject: false,
    });
    const ids = containers.stdout.split('\n').filter(Boolean);
    if (ids.length) await execa('docker', ['rm', '-f', ...ids], { reject: false });
    await removeLabelledImages();
  }, 180_000);

  it('builds an image that runs the CLI as a non-root user', { timeout: 300_000 }, async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const proxies = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']
      .filter((name) => process.env[name])
      .flatMap((name) => ['--build-arg', `${name}=${process.env[name]}`]);
    const build = await execa(
      'docker',
      ['build', '--label', IMAGE_LABEL, '-t', tag, ...(await baseImageArgs()), ...proxies, '.'],
      { cwd: repoRoot, reject: false, all: true },
    );
    expect(build.exitCode, build.all).toBe(0);

    const version = await execa('docker', [
      'run',
      '--rm',
      '--label',
      LABEL,
      '--label',
      RUN_LABEL,
      tag,
      '--version',
    ]);
    expect(version.stdout.trim()).toBe(pkg.version);

    const config = JSON.parse(
      (await execa('docker', ['image', 'inspect', '--format', '{{json .Config}}', tag])).stdout,
    ) as { User: string; Entrypoint: string[]; Cmd: string[] };
    expect(config.Entrypoint).toEqual(['node', '/app/dist/cli/main.js']);
    expect(config.Cmd).toEqual(['start']);
    expect(config.User).toBe('node');

    // Runs as uid 1000 with production dependencies only.
    const probe = await execa('docker', [
      'run',
      '--rm',
      '--label',
      LABEL,
      '--label',
      RUN_LABEL,
      '--entrypoint',
      'node',
      tag,
      '-e',
      "const fs = require('fs'); console.log(JSON.stringify({ uid: process.getuid(), " +
        "zod: fs.existsSync('/app/node_modules/zod'), vitest: fs.existsSync('/app/node_modules/vitest') }))",
    ]);
    expect(JSON.parse(probe.stdout)).toEqual({ uid: 1000, zod: true, vitest: false });
  });
});
