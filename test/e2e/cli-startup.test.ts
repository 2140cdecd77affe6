import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../support/temp-dirs.js';
import { ensureBuilt, MAIN, ROOT } from './daemon-harness.js';

/**
 * The start-up guard (issue #10): a command loads only the modules its own path uses. Each case runs the built CLI
 * as a real process with bench/import-recorder.mjs, which writes every module the process loaded (ES modules
 * through a load hook, CommonJS from the require cache at exit), and checks the npm packages among them.
 */
const RECORDER = join(ROOT, 'bench/import-recorder.mjs');

/** Every package that only some commands need: the cluster, Docker, logging, processes, watching, archives. */
const HEAVY = [
  '@kubernetes/client-node',
  'dockerode',
  'winston',
  'execa',
  'chokidar',
  'js-yaml',
  'tar-stream',
  'ignore',
];

const dirs = tempDirs('ksail-fluxd-startup-');
let dir = '';

/** Runs the CLI with `args` and returns its exit code and the npm packages it loaded. */
const loaded = async (args: readonly string[]): Promise<{ exitCode?: number; packages: string[] }> => {
  const log = join(dir, `imports-${args.join('-').replace(/[^a-z-]/gi, '')}.txt`);
  await writeFile(log, '');
  const result = await execa('node', ['--import', RECORDER, MAIN, ...args], {
    cwd: dir,
    reject: false,
    extendEnv: false,
    env: { HOME: dir, PATH: process.env.PATH, XDG_RUNTIME_DIR: dir, KSAIL_FLUXD_IMPORT_LOG: log },
  });
  const urls = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  expect(urls.length, `the recorder saw no module of ${args.join(' ')}`).toBeGreaterThan(0);
  const packages = new Set(
    urls.flatMap((url) => /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []),
  );
  return { exitCode: result.exitCode, packages: [...packages].sort() };
};

describe('start-up: what each command loads (e2e)', () => {
  beforeAll(async () => {
    await ensureBuilt();
    dir = await dirs.make();
    await mkdir(join(dir, 'app'));
    await writeFile(
      join(dir, 'app', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: default\ndata:\n  a: "1"\n',
    );
    await writeFile(
      join(dir, 'ksail-fluxd.yaml'),
      `registryEnabled: false\nsocket:\n  path: ${join(dir, 'none.sock')}\nsources:\n  - name: app\n    path: ./app\n`,
    );
  });
  afterAll(() => dirs.cleanup());

  it('--version loads no npm package at all', async () => {
    const { exitCode, packages } = await loaded(['--version']);
    expect(exitCode).toBe(0);
    expect(packages).toEqual([]);
  });

  it('--help loads commander only', async () => {
    const { exitCode, packages } = await loaded(['--help']);
    expect(exitCode).toBe(0);
    expect(packages).toEqual(['commander']);
  });

  it('status loads the config and control modules, none of the heavy ones', async () => {
    // No daemon runs: exit 3 after the config is loaded and the socket refused, which is the same path.
    const { exitCode, packages } = await loaded(['status']);
    expect(exitCode).toBe(3);
    expect(packages.filter((name) => HEAVY.includes(name))).toEqual([]);
  });

  it('push --dry-run builds the archive without the cluster, Docker, git or the watcher', async () => {
    const { exitCode, packages } = await loaded(['push', '--dry-run']);
    expect(exitCode).toBe(0);
    expect(packages).toEqual(expect.arrayContaining(['tar-stream']));
    expect(
      packages.filter((name) => ['@kubernetes/client-node', 'dockerode', 'execa', 'chokidar'].includes(name)),
    ).toEqual([]);
  });
});
