import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildLayer, createIgnoreMatcher, isSourceIgnoreFile } from '../../../src/artifact/index.js';
import { createLogger } from '../../../src/logger.js';
import { configMap, names, tempDirs, writeTree } from './tree.js';

const dirs = tempDirs();
const servers: Server[] = [];
afterEach(async () => {
  await Promise.allSettled(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
  await dirs.cleanup();
});

const filesOf = async (files: Record<string, string>, ignore?: string[]): Promise<string[]> => {
  const dir = await dirs.make();
  await writeTree(dir, files);
  return (await buildLayer({ sourceDir: dir, ignore })).files;
};

describe('ignore rules', () => {
  it("applies Flux's defaults: VCS files and binary extensions", async () => {
    const files = await filesOf({
      'app.yaml': configMap('app'),
      '.git/HEAD': 'ref: refs/heads/main\n',
      'nested/.git/config': '[core]\n',
      'nested/app.yaml': configMap('nested'),
      '.gitignore': 'x\n',
      '.gitmodules': '',
      '.gitattributes': '',
      'logo.png': 'png',
      'photo.jpg': 'jpg',
      'photo.jpeg': 'jpeg',
      'anim.gif': 'gif',
      'clip.wmv': 'wmv',
      'clip.flv': 'flv',
      'chart.tar.gz': 'tgz',
      'bundle.zip': 'zip',
    });
    expect(files).toEqual(['app.yaml', 'nested/app.yaml']);
  });

  it('skips editor temp files but not manifests that look similar', async () => {
    const files = await filesOf({
      'foo.yaml': configMap('foo'),
      '.foo.yaml.swp': 'swap',
      '.foo.yaml.swo': 'swap',
      'foo.yaml.swx': 'swap',
      'foo.yaml~': 'backup',
      '4913': 'vim probe',
      'apps/4913': 'vim probe',
      '#foo.yaml#': 'emacs autosave',
      '.#foo.yaml': 'emacs lock',
      'foo.yaml___jb_tmp___': 'jetbrains',
      'foo.yaml___jb_old___': 'jetbrains',
      '.hidden.yaml': configMap('hidden'),
      'swp.yaml': configMap('swp'),
      '4913.yaml': configMap('n4913'),
    });
    expect(files).toEqual(['.hidden.yaml', '4913.yaml', 'foo.yaml', 'swp.yaml']);
  });

  it('honours .sourceignore in the root and in subdirectories, relative to their directory', async () => {
    const files = await filesOf({
      '.sourceignore': '# drafts stay local\n*.draft.yaml\n!keep.draft.yaml\nsecrets/\n',
      'a.draft.yaml': configMap('draft'),
      'keep.draft.yaml': configMap('keep'),
      'secrets/s.yaml': configMap('secret'),
      'local.yaml': configMap('root-local'),
      'apps/.sourceignore': '/local.yaml\ntmp/\n',
      'apps/local.yaml': configMap('apps-local'),
      'apps/tmp/t.yaml': configMap('tmp'),
      'apps/sub/local.yaml': configMap('sub-local'),
      'apps/b.draft.yaml': configMap('nested-draft'),
      'tmp/t.yaml': configMap('root-tmp'),
    });
    expect(files).toEqual([
      '.sourceignore',
      'apps/.sourceignore',
      'apps/sub/local.yaml',
      'keep.draft.yaml',
      'local.yaml',
      'tmp/t.yaml',
    ]);
  });

  it("applies the source's extra patterns last, so they can re-include what .sourceignore excluded", async () => {
    const files = await filesOf(
      {
        '.sourceignore': 'wanted.yaml\n',
        'wanted.yaml': configMap('wanted'),
        'app.yaml': configMap('app'),
        'app.bak.yaml': configMap('bak'),
        'docs/readme.yaml': configMap('docs'),
        'apps/docs/x.yaml': configMap('apps-docs'),
      },
      ['*.bak.yaml', '/docs/', '!wanted.yaml'],
    );
    expect(files).toEqual(['.sourceignore', 'app.yaml', 'apps/docs/x.yaml', 'wanted.yaml']);
  });

  it('leaves ignored directories out of the tarball entirely', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app'), '.git/objects/ab/cd': 'x', 'empty/': '' });
    expect(await names((await buildLayer({ sourceDir: dir })).layer)).toEqual(['.', 'app.yaml', 'empty']);
  });

  it('skips symlinks (never following them) and special files, with a warning', async () => {
    const dir = await dirs.make();
    const outside = await dirs.make();
    await writeTree(outside, { 'secret.yaml': configMap('outside'), 'more/x.yaml': configMap('x') });
    await writeTree(dir, { 'app.yaml': configMap('app') });
    await symlink(join(dir, 'app.yaml'), join(dir, 'link.yaml'));
    await symlink(join(outside, 'secret.yaml'), join(dir, 'outside.yaml'));
    await symlink(outside, join(dir, 'outside-dir'));
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(join(dir, 'control.sock'), resolve));

    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const logger = createLogger({ level: 'warn', format: 'json', isTty: false, stream });
    const built = await buildLayer({ sourceDir: dir, logger });

    expect(built.files).toEqual(['app.yaml']);
    expect(await names(built.layer)).toEqual(['.', 'app.yaml']);
    expect(built.warnings).toEqual([
      'skipped control.sock: not a regular file or directory',
      'skipped symlink link.yaml: artifacts hold only regular files and directories; copy the target into the source instead',
      'skipped symlink outside-dir: artifacts hold only regular files and directories; copy the target into the source instead',
      'skipped symlink outside.yaml: artifacts hold only regular files and directories; copy the target into the source instead',
    ]);
    await vi.waitFor(() => expect(lines).toHaveLength(4));
    const logged = lines.map((line) => JSON.parse(line) as { message: string; path: string; reason: string });
    expect(logged.map(({ message, path, reason }) => ({ message, path, reason }))).toEqual([
      { message: 'skipped path while building artifact', path: 'control.sock', reason: 'special' },
      { message: 'skipped path while building artifact', path: 'link.yaml', reason: 'symlink' },
      { message: 'skipped path while building artifact', path: 'outside-dir', reason: 'symlink' },
      { message: 'skipped path while building artifact', path: 'outside.yaml', reason: 'symlink' },
    ]);
  });
});

describe('ignored symlinks', () => {
  it('skips a symlink the ignore rules exclude without a warning', async () => {
    const dir = await dirs.make();
    await writeTree(dir, { 'app.yaml': configMap('app') });
    await symlink(join(dir, 'app.yaml'), join(dir, 'local-link.yaml'));
    const built = await buildLayer({ sourceDir: dir, ignore: ['local-*'] });
    expect(built.files).toEqual(['app.yaml']);
    expect(built.warnings).toEqual([]);
  });
});

describe('createIgnoreMatcher', () => {
  it('answers for any path, with the same layers as the builder', async () => {
    const dir = await dirs.make();
    await writeTree(dir, {
      '.sourceignore': 'secrets/\n',
      'apps/.sourceignore': '/local.yaml\n',
      'apps/local.yaml': '',
      '.git/HEAD': '',
    });
    await mkdir(join(dir, 'secrets', 'deep'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'deep', '.sourceignore'), '!x.yaml\n');
    const matcher = await createIgnoreMatcher(dir, ['*.bak']);

    expect(matcher.ignores('apps/local.yaml', false)).toBe(true);
    expect(matcher.ignores('local.yaml', false)).toBe(false);
    expect(matcher.ignores('apps/sub/local.yaml', false)).toBe(false);
    expect(matcher.ignores('.git', true)).toBe(true);
    expect(matcher.ignores('.git/HEAD', false)).toBe(true);
    expect(matcher.ignores('secrets', true)).toBe(true);
    // A path under an ignored directory stays ignored, as in git.
    expect(matcher.ignores('secrets/deep/x.yaml', false)).toBe(true);
    expect(matcher.ignores('apps/.foo.yaml.swp', false)).toBe(true);
    expect(matcher.ignores('apps/x.bak', false)).toBe(true);
    expect(matcher.ignores('apps/x.yaml', false)).toBe(false);
    expect(matcher.check('apps/local.yaml', false)).toEqual({
      ignored: true,
      pattern: '/local.yaml',
      origin: 'apps/.sourceignore',
    });
    expect(matcher.check('a/b.png', false)).toMatchObject({ ignored: true, origin: 'Flux default' });
    expect(matcher.check('a/4913', false)).toMatchObject({ ignored: true, origin: 'editor temp file' });
  });

  it('tells a watcher which changes mean "recreate the matcher"', () => {
    expect(isSourceIgnoreFile('.sourceignore')).toBe(true);
    expect(isSourceIgnoreFile('apps/.sourceignore')).toBe(true);
    expect(isSourceIgnoreFile('apps/x.sourceignore')).toBe(false);
  });
});
