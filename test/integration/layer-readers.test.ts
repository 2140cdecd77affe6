import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  buildLayer,
  collectSource,
  createLayerCache,
  createValidationCache,
  packTar,
  type BuiltLayer,
} from '../../src/artifact/index.js';
import { systemClock } from '../../src/clock.js';
import { createSilentLogger } from '../../src/logger.js';
import { publishSource } from '../../src/publish/publish-source.js';
import { createRegistryClient } from '../../src/registry/client/client.js';
import { describeRealCluster } from '../support/real-cluster/index.js';
import { resolvedSource } from '../support/resolved-source.js';
import { tempDirs } from '../support/temp-dirs.js';

/**
 * An incrementally built layer (many gzip members, some cached from the build before) read by every reader that
 * matters: Go's archive/tar and compress/gzip through the real `flux pull artifact` (what source-controller
 * runs), Python's tarfile, GNU tar and gzip, and zlib. Each must see every entry, including those after hundreds
 * of members: a reader that stopped at an early end-of-archive would drop them silently (issue #10).
 */
const dirs = tempDirs('ksail-fluxd-layer-readers-');
const endpoint = inject('registryEndpoint');

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The tree: nested directories, long and non-ASCII names (PAX), empty and all-zero files, a large file. */
const writeSourceTree = async (root: string): Promise<void> => {
  const write = async (path: string, content: string | Buffer) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  };
  for (let i = 0; i < 400; i++) {
    const dir = `group-${i % 9}/sub-${i % 4}`;
    await write(`${dir}/cm-${i}.yaml`, configMap(`cm-${i}`, 'x'.repeat(i * 7)));
  }
  await write(`${'long-'.repeat(25)}/${'name-'.repeat(30)}.yaml`, configMap('long', 'deep'));
  await write('ünïcødé/ファイル.yaml', configMap('unicode', 'ü'));
  await write('data/empty.txt', '');
  // 4 KiB of zeros: content, not an end of archive; readers skip it by the size in its header.
  await write('data/zeros.bin', Buffer.alloc(4096));
  await write('data/large.txt', 'line of a large file\n'.repeat(20_000));
  await write('zz-last.yaml', configMap('last', 'the final entry'));
};

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  value: "${value}"\n`;

const filesUnder = async (root: string): Promise<Record<string, string>> => {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return [relative(root, path), sha(await readFile(path))] as const;
      }),
  );
  return Object.fromEntries(files);
};

describe('an incrementally built layer, read by every reader', () => {
  let source: string;
  let layerFile: string;
  let built: BuiltLayer;
  let expected: Record<string, string>;
  let names: string[];
  const layerCache = createLayerCache({ clock: systemClock });
  const validationCache = createValidationCache();

  beforeAll(async () => {
    source = await dirs.make();
    await writeSourceTree(source);
    await buildLayer({ sourceDir: source, layerCache, validationCache });
    // Edits after the first build, so the layer mixes cached members with new ones.
    await writeFile(join(source, 'group-3/sub-1/cm-21.yaml'), configMap('cm-21', 'edited'));
    await writeFile(join(source, 'group-0/new.yaml'), configMap('new', 'added'));
    built = await buildLayer({ sourceDir: source, layerCache, validationCache });
    expect(layerCache.stats.members).toBeGreaterThan(50);
    layerFile = join(await dirs.make(), 'layer.tar.gz');
    await writeFile(layerFile, built.layer);
    expected = await filesUnder(source);
    names = ['.', ...(await collectSource({ sourceDir: source })).entries.map((entry) => entry.path)];
  });

  it('is the one tar for zlib, and gzip -t accepts it', async () => {
    const collected = await collectSource({ sourceDir: source });
    expect(gunzipSync(built.layer).equals(await packTar(collected.entries))).toBe(true);
    const test = await execa('gzip', ['-t', layerFile], { reject: false });
    expect(test.exitCode, test.stderr).toBe(0);
  });

  it('GNU tar lists every entry in order and extracts every file', async () => {
    const list = await execa('tar', ['-tzf', layerFile]);
    // GNU tar prints `./` for the root and names directories with a trailing slash.
    expect(list.stdout.split('\n').map((name) => name.replace(/\/$/, '') || '.')).toEqual(names);
    const out = await dirs.make();
    await execa('tar', ['-xzf', layerFile, '-C', out]);
    expect(await filesUnder(out)).toEqual(expected);
  });

  it("Python's tarfile lists every entry with its content", async () => {
    const script = [
      'import hashlib, json, sys, tarfile',
      'out = []',
      "with tarfile.open(sys.argv[1], 'r:gz') as tar:",
      '    for member in tar:',
      '        data = tar.extractfile(member).read() if member.isfile() else None',
      '        out.append([member.name, member.isdir(), hashlib.sha256(data).hexdigest() if data is not None else None])',
      'print(json.dumps(out))',
    ].join('\n');
    const result = await execa('python3', ['-c', script, layerFile]);
    const members = JSON.parse(result.stdout) as [string, boolean, string | null][];
    expect(members.map(([name]) => name)).toEqual(names);
    expect(
      Object.fromEntries(members.filter(([, isDir]) => !isDir).map(([name, , digest]) => [name, digest])),
    ).toEqual(expected);
  });

  describeRealCluster("Go's archive/tar, through flux pull artifact", (cluster) => {
    it('pulls every file with its content', async () => {
      const repository = `test/layer-readers-${process.pid}`;
      const client = createRegistryClient({ endpoint, clock: systemClock });
      const result = await publishSource({
        source: resolvedSource(source, { repository, targetNamespace: 'default' }),
        client,
        clock: systemClock,
        logger: createSilentLogger(),
        validationCache,
        layerCache,
      });
      expect(result.outcome).toBe('pushed');
      // The no-op check holds: the same tree gives the layer built before, byte for byte.
      expect(result.layerDigest).toBe(built.layerDigest);
      const out = await dirs.make();
      const pulled = await execa(
        cluster.fluxBinary,
        ['pull', 'artifact', `oci://${endpoint}/${repository}:${result.version}`, '--output', out],
        { reject: false, env: { KUBECONFIG: cluster.kubeconfigPath } },
      );
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      expect(await filesUnder(out)).toEqual(expected);
    });
  });
});
