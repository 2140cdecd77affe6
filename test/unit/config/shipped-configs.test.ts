import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { tempDirs } from '../../support/temp-dirs.js';

const root = join(import.meta.dirname, '../../..');
const dirs = tempDirs('ksail-fluxd-shipped-');
afterEach(() => dirs.cleanup());

/** Every config file the repository ships, as a user would copy it. */
const shippedFiles = async (): Promise<string[]> => {
  const found: string[] = [];
  for (const dir of ['config', 'examples']) {
    for (const name of await readdir(join(root, dir))) {
      if (/\.ya?ml$/.test(name)) found.push(join(dir, name));
    }
  }
  return found;
};

/** The README's `ksail-fluxd.yaml` snippets: the ```yaml blocks that have a sources key. */
const readmeSnippets = async (): Promise<string[]> => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)]
    .map(([, indent = '', body = '']) =>
      body
        .split('\n')
        .map((line) => line.slice(indent.length))
        .join('\n'),
    )
    .filter((body) => /^sources:/m.test(body));
};

describe('the config files the repository ships', () => {
  it('finds them', async () => {
    expect(await shippedFiles()).toEqual(
      expect.arrayContaining(['config/ksail-fluxd.example.yaml', 'examples/ksail-fluxd.yaml']),
    );
    expect((await readmeSnippets()).length).toBeGreaterThan(0);
  });

  it.each([['config/ksail-fluxd.example.yaml'], ['examples/ksail-fluxd.yaml']])(
    '%s loads as shipped',
    async (file) => {
      const config = await loadConfig({ cwd: root, file: join(root, file), env: {} });
      expect(config.sources.length).toBeGreaterThan(0);
    },
  );

  it('every config in config/ and examples/ loads', async () => {
    for (const file of await shippedFiles()) {
      await expect(loadConfig({ cwd: root, file: join(root, file), env: {} }), file).resolves.toBeDefined();
    }
  });

  it('every ksail-fluxd.yaml snippet in the README loads', async () => {
    for (const snippet of await readmeSnippets()) {
      const dir = await dirs.make();
      await writeFile(join(dir, 'ksail-fluxd.yaml'), snippet);
      await expect(loadConfig({ cwd: dir, env: {} }), snippet).resolves.toBeDefined();
    }
  });
});
