import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { KsailError } from '../../../src/errors.js';
import { rejectionOf } from '../../support/rejection.js';
import { tempDirs } from '../../support/temp-dirs.js';

// The prefix matters: the default repository is named after the config file's directory.
const configDirs = tempDirs('ksail-fluxd-config-');
const emptyDirs = tempDirs('ksail-fluxd-empty-');
afterEach(() => Promise.all([configDirs.cleanup(), emptyDirs.cleanup()]));

const write = async (text: string, name = 'ksail-fluxd.yaml'): Promise<string> => {
  const dir = await configDirs.make();
  await writeFile(join(dir, name), text);
  return dir;
};

const failure = (promise: Promise<unknown>): Promise<KsailError> => rejectionOf(promise, KsailError);

describe('loadConfig', () => {
  it('applies defaults from the data model and the issues', async () => {
    const dir = await write('sources:\n  - name: app\n    path: ./app\n');
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({
      gitOpsEngine: 'Flux',
      registryEnabled: true,
      registryPort: 5000,
      fluxInterval: '1m',
      registry: { name: 'local-registry', image: 'registry:3', runtime: 'auto' },
      flux: { namespace: 'flux-system', mode: 'Automatic', reconcileTimeout: '2m', concurrency: 2 },
      watch: { quietPeriod: '50ms', burstQuietPeriod: '250ms', maxWait: '5s', usePolling: false },
      log: { level: 'info', format: 'auto' },
    });
    const [source] = config.sources;
    expect(source).toMatchObject({
      bump: 'patch',
      initialVersion: '1.0.0',
      prune: true,
      keep: 20,
      ignore: [],
    });
    expect(source?.absolutePath).toBe(join(dir, 'app'));
    expect(source?.repository).toMatch(/^ksail-fluxd-config-[a-z0-9]+\/app$/i);
  });

  it('works without a file, with defaults and no sources', async () => {
    const dir = await emptyDirs.make();
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.file).toBeUndefined();
    expect(config.sources).toEqual([]);
  });

  it('names the file when an explicit --config is missing', async () => {
    const error = await failure(loadConfig({ cwd: '/', file: '/nonexistent/x.yaml', env: {} }));
    expect(error.code).toBe('config-not-found');
    expect(error.message).toContain('/nonexistent/x.yaml');
  });

  it('rejects unknown keys with the line, the key path and the closest valid key', async () => {
    const dir = await write('registryPort: 5001\nflux:\n  namespase: flux-system\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.code).toBe('config-invalid');
    expect(error.message).toContain(`${join(dir, 'ksail-fluxd.yaml')}:3:3: flux.namespase: unknown key`);
    expect(error.message).toContain('did you mean "namespace"?');
  });

  it('suggests keys inside list items', async () => {
    const dir = await write('sources:\n  - name: app\n    path: ./app\n    prun: true\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain(':4:5: sources[0].prun: unknown key; did you mean "prune"?');
  });

  it('says what values are allowed', async () => {
    const dir = await write('gitOpsEngine: Argo\nfluxInterval: 0s\nregistryPort: 70000\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain(':1:15: gitOpsEngine: must be one of "Kubectl", "Flux"');
    expect(error.message).toContain(':2:15: fluxInterval: fluxInterval must be greater than 0');
    expect(error.message).toContain(':3:15: registryPort: must be at most 65535');
  });

  it('names the key and the line of a malformed duration, as a config error', async () => {
    const dir = await write('watch:\n  quietPeriod: soon\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.code).toBe('config-invalid');
    expect(error.message).toContain(
      ':2:16: watch.quietPeriod: quietPeriod must be a duration such as 250ms, 30s, 1m or 1h30m',
    );
  });

  it('reports YAML syntax errors with a line', async () => {
    const dir = await write('sources: [\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toMatch(/ksail-fluxd\.yaml:\d+:\d+: not valid YAML/);
  });

  it('rejects duplicate source names and bad repositories', async () => {
    const dir = await write('sources:\n  - {name: app, path: a}\n  - {name: app, path: b}\n');
    expect((await failure(loadConfig({ cwd: dir, env: {} }))).message).toContain(
      'duplicate source name "app"',
    );
    const bad = await write('sources:\n  - {name: app, path: a, repository: Bad/Repo}\n');
    expect((await failure(loadConfig({ cwd: bad, env: {} }))).message).toContain('sources[0].repository');
  });

  it('layers file, then environment, then flags', async () => {
    const dir = await write('log:\n  level: warn\nregistryPort: 5001\nflux:\n  mode: Manual\n');
    const env = { KSAIL_FLUXD_LOG_LEVEL: 'debug', KSAIL_FLUXD_REGISTRY_PORT: '5002' };
    const fromEnv = await loadConfig({ cwd: dir, env });
    expect(fromEnv.log.level).toBe('debug');
    expect(fromEnv.registryPort).toBe(5002);
    const fromFlags = await loadConfig({
      cwd: dir,
      env,
      overrides: { 'log.level': 'error', 'flux.mode': 'automatic' },
    });
    expect(fromFlags.log.level).toBe('error');
    expect(fromFlags.flux.mode).toBe('Automatic');
  });

  it('the dashboard is off by default; ui.port (or --ui PORT) turns it on, 0 for any free port', async () => {
    const dir = await write('ui:\n  port: 8470\n');
    expect((await loadConfig({ cwd: dir, env: {} })).ui).toEqual({ port: 8470 });
    expect((await loadConfig({ cwd: await write(''), env: {} })).ui).toEqual({});
    expect((await loadConfig({ cwd: dir, env: {}, overrides: { 'ui.port': '0' } })).ui).toEqual({ port: 0 });
    const error = await failure(loadConfig({ cwd: await write('ui:\n  prot: 70000\n'), env: {} }));
    expect(error.message).toContain(':2:3: ui.prot: unknown key; did you mean "port"?');
    const range = await failure(loadConfig({ cwd: await write('ui:\n  port: 70000\n'), env: {} }));
    expect(range.message).toContain(':2:9: ui.port: must be at most 65535');
  });

  it('names the environment variable that holds a bad value', async () => {
    const dir = await write('');
    const error = await failure(loadConfig({ cwd: dir, env: { KSAIL_FLUXD_REGISTRY_PORT: 'abc' } }));
    expect(error.message).toContain(
      'environment variable KSAIL_FLUXD_REGISTRY_PORT: registryPort: must be a number',
    );
  });

  it('resolves source paths against the config file, not the working directory', async () => {
    const dir = await write('sources:\n  - {name: app, path: ./k8s}\n', 'custom.yaml');
    await mkdir(join(dir, 'k8s'));
    const config = await loadConfig({ cwd: '/', file: join(dir, 'custom.yaml'), env: {} });
    expect(config.sources[0]?.absolutePath).toBe(join(dir, 'k8s'));
  });

  it('refuses both volumeName and dataPath', async () => {
    const dir = await write('registry:\n  volumeName: v\n  dataPath: /tmp/x\n');
    expect((await failure(loadConfig({ cwd: dir, env: {} }))).message).toContain(
      'registry.dataPath: set either volumeName or dataPath, not both',
    );
  });

  it('refuses a process registry on a cluster network, naming the key and the fix', async () => {
    const dir = await write('cluster:\n  network: kind\nregistry:\n  runtime: process\n');
    const message = (await failure(loadConfig({ cwd: dir, env: {} }))).message;
    expect(message).toMatch(
      /ksail-fluxd\.yaml:2:\d+: cluster\.network: a process registry cannot join Docker network "kind"/,
    );
    expect(message).toContain('set registry.runtime to docker (or auto), or remove cluster.network');
  });
});

describe('loadConfig: empty keys, wording and enums (issue 9)', () => {
  it('takes a key with no value (only comments under it) as the defaults', async () => {
    const dir = await write(
      'project:\ncluster:\n  # network: kind\nsocket:\n  # path: /x\nsources:\n  - name: app\n    path: ./app\n    ignore:\nwatch:\n',
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.cluster).toEqual({});
    expect(config.socket).toEqual({});
    expect(config.watch).toEqual((await loadConfig({ cwd: await emptyDirs.make(), env: {} })).watch);
    expect(config.sources[0]?.ignore).toEqual([]);
    expect(config.project).toMatch(/^ksail-fluxd-config-/);
  });

  it('still refuses an empty list item', async () => {
    const dir = await write('sources:\n  -\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain('sources[0]: must be an object');
  });

  it('says "an object", not "a object"', async () => {
    const dir = await write('flux: 3\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain(':1:7: flux: must be an object');
    expect(error.message).not.toContain('a object');
  });

  it('reports a missing required key as missing, at the item that lacks it', async () => {
    const dir = await write('sources:\n  - path: ./app\n    bump: minor\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain(':2:5: sources[0].name: missing required key "name"');
    expect(error.message).not.toContain('must be a string');
  });

  it('reports a required key written with no value at its own line', async () => {
    const dir = await write('sources:\n  - path: ./app\n    name:\n');
    const error = await failure(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain(':3:5: sources[0].name: missing required key "name"');
  });

  it('matches enum values without regard to case in the file, the environment and flags alike', async () => {
    const dir = await write(
      'gitOpsEngine: flux\nflux:\n  mode: manual\nregistry:\n  runtime: Docker\nlog:\n  level: WARN\nsources:\n  - {name: app, path: a, bump: Minor}\n',
    );
    const fromFile = await loadConfig({ cwd: dir, env: {} });
    expect(fromFile).toMatchObject({
      gitOpsEngine: 'Flux',
      flux: { mode: 'Manual' },
      registry: { runtime: 'docker' },
      log: { level: 'warn' },
    });
    expect(fromFile.sources[0]?.bump).toBe('minor');
    const fromEnv = await loadConfig({ cwd: dir, env: { KSAIL_FLUXD_MODE: 'AUTOMATIC' } });
    expect(fromEnv.flux.mode).toBe('Automatic');
    const fromFlag = await loadConfig({ cwd: dir, env: {}, overrides: { 'log.format': 'JSON' } });
    expect(fromFlag.log.format).toBe('json');
  });
});
