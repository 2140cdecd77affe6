import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectionError, toClusterError } from '../../../src/flux/kube-errors.js';
import { kubeconfigFiles, loadKubeconfig } from '../../../src/flux/kubeconfig.js';

const kubeconfig = (current: string, contexts: Record<string, string>): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: Object.entries(contexts).map(([name, server]) => ({ name, cluster: { server } })),
    users: [{ name: 'u', user: { token: 't' } }],
    contexts: Object.keys(contexts).map((name) => ({ name, context: { cluster: name, user: 'u' } })),
    'current-context': current,
  });

describe('kubeconfig selection', () => {
  let dir: string;
  let first: string;
  let second: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksail-kubeconfig-'));
    first = join(dir, 'first');
    second = join(dir, 'second');
    await writeFile(first, kubeconfig('kind-a', { 'kind-a': 'https://127.0.0.1:6443' }));
    await writeFile(second, kubeconfig('kind-b', { 'kind-b': 'https://127.0.0.1:7443' }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prefers cluster.kubeconfig, then KUBECONFIG, then ~/.kube/config', () => {
    const env = { KUBECONFIG: `${first}${delimiter}${second}`, HOME: '/home/dev' };
    expect(kubeconfigFiles({ kubeconfigPath: '/x/config', env })).toEqual(['/x/config']);
    expect(kubeconfigFiles({ env })).toEqual([first, second]);
    expect(kubeconfigFiles({ env: { HOME: '/home/dev' } })).toEqual(['/home/dev/.kube/config']);
  });

  it("uses the first file's current-context, and cluster.context over it", () => {
    const env = { KUBECONFIG: `${first}${delimiter}${second}` };
    expect(loadKubeconfig({ env })).toMatchObject({
      contextName: 'kind-a',
      server: 'https://127.0.0.1:6443',
    });
    expect(loadKubeconfig({ env, context: 'kind-b' })).toMatchObject({
      contextName: 'kind-b',
      server: 'https://127.0.0.1:7443',
    });
  });

  it('names the contexts there are when the wanted one is missing', () => {
    expect(() => loadKubeconfig({ kubeconfigPath: first, context: 'kind-zzz', env: {} })).toThrowError(
      /context "kind-zzz" is not in kubeconfig .*first \(contexts: kind-a\); set cluster.context/,
    );
  });

  it('says how to get a kubeconfig when there is none', () => {
    expect(() => loadKubeconfig({ env: { KUBECONFIG: join(dir, 'missing') } })).toThrowError(
      /no kubeconfig found .*ksail cluster create.*KUBECONFIG.*cluster.kubeconfig/,
    );
  });
});

describe('cluster error mapping', () => {
  const cluster = { contextName: 'kind-a', server: 'https://127.0.0.1:6443' };

  it('turns connection failures into cluster-unreachable naming context and server', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      type: 'system',
    });
    expect(isConnectionError(refused)).toBe(true);
    const error = toClusterError(cluster, 'reading', refused);
    expect(error.code).toBe('cluster-unreachable');
    expect(error.message).toBe(
      'cannot reach the Kubernetes API of context "kind-a" at https://127.0.0.1:6443 (ECONNREFUSED); start the cluster, check `kubectl config current-context`, or set cluster.context in ksail-fluxd.yaml',
    );
    const timeout = toClusterError(
      cluster,
      'reading',
      Object.assign(new Error('aborted'), { name: 'AbortError' }),
    );
    expect(timeout.message).toContain('(no answer in time)');
  });

  it('keeps the HTTP status and the API message', () => {
    const error = toClusterError(cluster, 'reading OCIRepository flux-system/app', {
      code: 403,
      body: '{"kind":"Status","reason":"Forbidden","message":"ocirepositories is forbidden"}',
    });
    expect(error).toMatchObject({ code: 'cluster-http', details: { status: 403, reason: 'Forbidden' } });
    expect(error.message).toContain('HTTP 403 Forbidden: ocirepositories is forbidden');
  });
});
