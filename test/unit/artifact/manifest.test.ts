import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  artifactAnnotations,
  artifactSource,
  createManifest,
  gitInfo,
  redactRemote,
  rfc3339Seconds,
  sha256Digest,
} from '../../../src/artifact/index.js';
import { tempDirs, writeTree } from './tree.js';

const dirs = tempDirs();
afterEach(dirs.cleanup);

const LAYER = `sha256:${'a'.repeat(64)}`;
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe('createManifest', () => {
  it('writes the manifest flux push artifact writes, byte for byte', () => {
    const manifest = createManifest({
      layerDigest: LAYER,
      layerSize: 1234,
      annotations: artifactAnnotations({
        version: '1.2.3',
        created: new Date('2026-01-02T03:04:05.678Z'),
        source: 'file:///work/apps',
        commit: COMMIT,
      }),
    });
    const configDigest = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
    expect(manifest.body.toString()).toBe(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.cncf.flux.config.v1+json', size: 2, digest: configDigest },
        layers: [{ mediaType: 'application/vnd.cncf.flux.content.v1.tar+gzip', size: 1234, digest: LAYER }],
        annotations: {
          'org.opencontainers.image.created': '2026-01-02T03:04:05Z',
          'org.opencontainers.image.revision': `1.2.3@sha1:${COMMIT}`,
          'org.opencontainers.image.source': 'file:///work/apps',
        },
      }),
    );
    expect(manifest.digest).toBe(sha256Digest(manifest.body));
    expect(manifest.size).toBe(manifest.body.length);
    expect(manifest.config.toString()).toBe('{}');
    expect(manifest.configDigest).toBe(configDigest);
  });

  it('sorts annotation keys so equal inputs give equal digests', () => {
    const a = createManifest({ layerDigest: LAYER, layerSize: 1, annotations: { b: '2', a: '1' } });
    const b = createManifest({ layerDigest: LAYER, layerSize: 1, annotations: { a: '1', b: '2' } });
    expect(a.digest).toBe(b.digest);
  });
});

describe('artifactAnnotations', () => {
  it('uses just the version outside git', () => {
    expect(
      artifactAnnotations({
        version: '1.0.0',
        created: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 999)),
        source: 's',
      }),
    ).toEqual({
      'org.opencontainers.image.created': '2026-01-02T03:04:05Z',
      'org.opencontainers.image.revision': '1.0.0',
      'org.opencontainers.image.source': 's',
    });
  });

  it('prints RFC 3339 in UTC with whole seconds', () => {
    expect(rfc3339Seconds(new Date('2026-07-08T23:59:59.999+02:00'))).toBe('2026-07-08T21:59:59Z');
  });
});

describe('gitInfo', () => {
  const git = (dir: string, ...args: string[]) =>
    execa('git', ['-C', dir, '-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args]);

  it('returns undefined outside a git work tree', async () => {
    const dir = await dirs.make();
    expect(await gitInfo(dir)).toBeUndefined();
    expect(artifactSource(dir, undefined)).toBe(`file://${dir}`);
  });

  it('returns HEAD and the origin remote without credentials, also from a subdirectory', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'apps/app.yaml': 'x: 1\n' });
    await git(dir, 'init', '--quiet');
    expect(await gitInfo(dir)).toBeUndefined(); // no commit yet
    await git(dir, 'add', '.');
    await git(dir, 'commit', '--quiet', '-m', 'init');
    const { stdout: head } = await git(dir, 'rev-parse', 'HEAD');
    expect(await gitInfo(join(dir, 'apps'))).toEqual({ commit: head });

    await git(dir, 'remote', 'add', 'origin', 'https://user:secret-token@example.com/org/repo.git');
    const info = await gitInfo(join(dir, 'apps'));
    expect(info).toEqual({ commit: head, remote: 'https://example.com/org/repo.git' });
    expect(artifactSource(dir, info)).toBe('https://example.com/org/repo.git');
  });

  it('asks the git port for HEAD and the remote, and ignores an answer that is no commit', async () => {
    const asked: string[][] = [];
    const answers: Record<string, string> = {
      'rev-parse HEAD': 'a'.repeat(40),
      'config --get remote.origin.url': 'git@example.com:org/repo.git',
    };
    const fake = (dir: string, args: readonly string[]) => {
      asked.push([dir, ...args]);
      return Promise.resolve(answers[args.join(' ')]);
    };
    expect(await gitInfo('/src/app', fake)).toEqual({
      commit: 'a'.repeat(40),
      remote: 'git@example.com:org/repo.git',
    });
    expect(asked.map((call) => call[0])).toEqual(['/src/app', '/src/app']);
    answers['rev-parse HEAD'] = 'fatal: ambiguous argument';
    expect(await gitInfo('/src/app', fake)).toBeUndefined();
  });

  it('returns undefined for a directory that does not exist', async () => {
    const dir = join(await dirs.make(), 'missing');
    expect(await gitInfo(dir)).toBeUndefined();
  });
});

describe('redactRemote', () => {
  it.each([
    ['https://user:pw@github.com/org/repo.git', 'https://github.com/org/repo.git'],
    ['https://github.com/org/repo.git', 'https://github.com/org/repo.git'],
    ['git@github.com:org/repo.git', 'git@github.com:org/repo.git'],
    ['https://ghp_token@github.com/org/repo.git', 'https://github.com/org/repo.git'],
    ['ssh://git@github.com/org/repo.git', 'ssh://git@github.com/org/repo.git'],
    ['ssh://git:pw@github.com/org/repo.git', 'ssh://git@github.com/org/repo.git'],
  ])('%s -> %s', (remote, expected) => {
    expect(redactRemote(remote)).toBe(expected);
  });
});
