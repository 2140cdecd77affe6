import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createSilentLogger } from '../../src/logger.js';
import { createRegistryClient } from '../../src/registry/client/client.js';
import { publishSource } from '../../src/publish/publish-source.js';
import { execaGit, type GitRunner } from '../../src/artifact/git.js';
import { resolvedSource } from '../support/resolved-source.js';

const endpoint = inject('registryEndpoint');

/** The daemon's `pushing` state comes from this hook (issue #5 status): only a real upload reports it. */
describe('publishSource progress', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('reports pushing with the new version, and never for unchanged content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-progress-'));
    dirs.push(dir);
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n');
    const repository = `progress/app-${process.pid}-${Date.now()}`;
    const source = resolvedSource(dir, { repository, targetNamespace: 'default' });
    const client = createRegistryClient({ endpoint });
    const pushing: string[] = [];
    const publish = () =>
      publishSource({
        source,
        client,
        clock: systemClock,
        logger: createSilentLogger(),
        onPushing: (version) => pushing.push(version),
      });

    expect((await publish()).outcome).toBe('pushed');
    expect((await publish()).outcome).toBe('unchanged');
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n');
    expect(await publish()).toMatchObject({ outcome: 'pushed', version: '1.0.1' });
    expect(pushing).toEqual(['1.0.0', '1.0.1']);
  });

  const project = async (name: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-progress-'));
    dirs.push(dir);
    await writeFile(join(dir, 'cm.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`);
    const repository = `progress/${name}-${process.pid}-${Date.now()}`;
    return { dir, repository, source: resolvedSource(dir, { repository, targetNamespace: 'default' }) };
  };

  it('runs git only for content that differs (issue #10)', async () => {
    const { dir, source } = await project('git');
    const client = createRegistryClient({ endpoint });
    const calls: string[] = [];
    const git: GitRunner = (at, args) => {
      calls.push(args.join(' '));
      return execaGit(at, args);
    };
    const publish = () =>
      publishSource({ source, client, clock: systemClock, logger: createSilentLogger(), git });
    expect((await publish()).outcome).toBe('pushed');
    expect(calls).toHaveLength(2);
    expect((await publish()).outcome).toBe('unchanged');
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n');
    expect((await publish()).outcome).toBe('pushed');
    expect(calls).toHaveLength(4);
  });

  it('tags nothing when superseded before the tag, and the next publish takes that version', async () => {
    const { dir, repository, source } = await project('dropped');
    const client = createRegistryClient({ endpoint });
    const publish = (superseded?: () => boolean) =>
      publishSource({
        source,
        client,
        clock: systemClock,
        logger: createSilentLogger(),
        ...(superseded ? { superseded } : {}),
      });
    expect((await publish()).outcome).toBe('pushed');
    await writeFile(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: half\n');
    // Files change during the upload: the first check passes, the one before the tag does not.
    let asked = 0;
    expect(await publish(() => ++asked > 1)).toMatchObject({ outcome: 'dropped', version: undefined });
    expect(asked).toBe(2);
    expect(await client.listTags(repository)).toEqual(['1.0.0']);
    expect(await publish(() => false)).toMatchObject({ outcome: 'pushed', version: '1.0.1' });
  });
});
