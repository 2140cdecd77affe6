import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../free-port.js';
import type { ClusterBinaries } from './binaries.js';
import { forgetPids, logTail, recordPids, startProcess, stopPids, type ClusterProcess } from './processes.js';

/**
 * A real Kubernetes control plane with real Flux, as plain processes on loopback: etcd (temp dir),
 * kube-apiserver (self-signed serving certificate it generates, a static bearer token in system:masters, RBAC),
 * Flux's CRDs from the controllers' modules, the flux-system namespace, and source-controller and
 * kustomize-controller with a kubeconfig, leader election off and source-controller's storage on a loopback port.
 * No pod ever runs: there is no kubelet, scheduler or controller-manager (so no namespace deletion and no garbage
 * collection of owner references).
 */
export interface RealCluster {
  /** https://127.0.0.1:<port> */
  server: string;
  token: string;
  /** The CA bundle that verifies the API server's certificate. */
  caFile: string;
  kubeconfigPath: string;
  /** Where source-controller serves artifacts (http://127.0.0.1:<port>). */
  storageUrl: string;
  dir: string;
  processes: readonly ClusterProcess[];
  close(): Promise<void>;
}

const get = (url: string, options: { ca?: Buffer; token?: string } = {}): Promise<number> =>
  new Promise((resolve) => {
    const headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(url, { headers, ca: options.ca, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });

/** JSON request to the API server; resolves with the status and the parsed body. */
export const apiRequest = (
  cluster: Pick<RealCluster, 'server' | 'token'> & { ca: Buffer },
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: unknown }> =>
  new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${cluster.server}${path}`,
      {
        method,
        ca: cluster.ca,
        headers: {
          Authorization: `Bearer ${cluster.token}`,
          Accept: 'application/json',
          ...(payload === undefined ? {} : { 'Content-Type': contentType }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });

/** Polls `check` until it is true; on timeout the error names what did not come up and shows its log. */
const waitFor = async (
  what: ClusterProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  void what.exited.then((how) => (exited = how));
  while (Date.now() < deadline) {
    if (await check()) return;
    if (exited !== undefined) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const state = exited === undefined ? `did not become ready within ${timeoutMs} ms` : `exited (${exited})`;
  throw new Error(
    `real cluster: ${what.name} ${state}; last lines of ${what.logFile}:\n${await logTail(what)}`,
  );
};

const kubeconfigText = (server: string, ca: Buffer, token: string): string =>
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'real', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'real', context: { cluster: 'real', user: 'admin' } }],
    'current-context': 'real',
  });

const installCrds = async (
  api: Parameters<typeof apiRequest>[0],
  crdDir: string,
  namespace: string,
): Promise<void> => {
  const files = (await readdir(crdDir)).filter((name) => name.endsWith('.yaml')).sort();
  const names: string[] = [];
  for (const file of files) {
    const crd = parse(await readFile(join(crdDir, file), 'utf8')) as { metadata: { name: string } };
    const created = await apiRequest(
      api,
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      crd,
    );
    if (created.status !== 201) {
      throw new Error(
        `real cluster: CRD ${file} was refused (${created.status}): ${JSON.stringify(created.body)}`,
      );
    }
    names.push(crd.metadata.name);
  }
  const established = async (name: string): Promise<boolean> => {
    const { body } = await apiRequest(
      api,
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    const conditions = (body as { status?: { conditions?: { type: string; status: string }[] } }).status
      ?.conditions;
    return conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  };
  const deadline = Date.now() + 30_000;
  for (const name of names) {
    while (!(await established(name))) {
      if (Date.now() > deadline) throw new Error(`real cluster: CRD ${name} was not established within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const ns = await apiRequest(api, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  if (ns.status !== 201) throw new Error(`real cluster: namespace ${namespace} was refused (${ns.status})`);
};

export const startRealCluster = async (
  binaries: ClusterBinaries,
  options: { fluxNamespace?: string } = {},
): Promise<RealCluster> => {
  const dir = await mkdtemp(join(tmpdir(), 'ksail-fluxd-real-cluster-'));
  const processes: ClusterProcess[] = [];
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      // Controllers first, so that they do not log a storm of errors about the API server going away.
      const [etcd, apiserver, ...controllers] = processes;
      await stopPids(controllers.map((p) => p.pid));
      await stopPids(apiserver ? [apiserver.pid] : []);
      await stopPids(etcd ? [etcd.pid] : []);
      await forgetPids();
      if (!process.env.KSAIL_FLUXD_KEEP_CLUSTER) await rm(dir, { recursive: true, force: true });
    })());
  const started = (process_: ClusterProcess): ClusterProcess => {
    processes.push(process_);
    void recordPids(processes, dir);
    return process_;
  };

  try {
    const [etcdClient, etcdPeer, apiPort, storagePort, sourceHealth, kustomizeHealth] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = started(
      startProcess(
        'etcd',
        binaries.path('etcd'),
        [
          '--data-dir',
          join(dir, 'etcd'),
          '--listen-client-urls',
          etcdUrl,
          '--advertise-client-urls',
          etcdUrl,
          '--listen-peer-urls',
          `http://127.0.0.1:${etcdPeer}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${etcdPeer}`,
          '--initial-cluster',
          `default=http://127.0.0.1:${etcdPeer}`,
          // A throw-away store: durability buys nothing here and fsync is most of etcd's write latency.
          '--unsafe-no-fsync',
          '--log-level',
          'warn',
        ],
        { dir },
      ),
    );
    await waitFor(etcd, async () => (await get(`${etcdUrl}/health`)) === 200, 30_000);

    const token = randomBytes(24).toString('hex');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await mkdir(join(dir, 'certs'));
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(
      join(dir, 'tokens.csv'),
      `${token},ksail-fluxd-test,ksail-fluxd-test,"system:masters"\n`,
      {
        mode: 0o600,
      },
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = started(
      startProcess(
        'kube-apiserver',
        binaries.path('kube-apiserver'),
        [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          // No --tls-cert-file: the API server generates a CA and a serving certificate for 127.0.0.1 here.
          `--cert-dir=${join(dir, 'certs')}`,
          `--token-auth-file=${join(dir, 'tokens.csv')}`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${join(dir, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--profiling=false',
        ],
        { dir },
      ),
    );
    const caFile = join(dir, 'certs', 'apiserver.crt');
    let ca: Buffer | undefined;
    await waitFor(
      apiserver,
      async () => {
        ca ??= await readFile(caFile).catch(() => undefined);
        return ca !== undefined && (await get(`${server}/readyz`, { ca, token })) === 200;
      },
      90_000,
    );
    const api = { server, token, ca: ca as Buffer };
    const namespace = options.fluxNamespace ?? 'flux-system';
    await installCrds(api, binaries.crdDir, namespace);

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigText(server, api.ca, token), { mode: 0o600 });
    const storageUrl = `http://127.0.0.1:${storagePort}`;
    await mkdir(join(dir, 'storage'));
    // controller-runtime reads KUBECONFIG (the binaries take no --kubeconfig flag); metrics are off, the health
    // ports are distinct (both default to :9440), nothing binds beyond loopback.
    const env = { KUBECONFIG: kubeconfigPath, RUNTIME_NAMESPACE: namespace };
    const source = started(
      startProcess(
        'source-controller',
        binaries.path('source-controller'),
        [
          `--storage-path=${join(dir, 'storage')}`,
          `--storage-addr=127.0.0.1:${storagePort}`,
          `--storage-adv-addr=127.0.0.1:${storagePort}`,
          '--metrics-addr=0',
          `--health-addr=127.0.0.1:${sourceHealth}`,
          '--enable-leader-election=false',
          '--log-encoding=json',
        ],
        { dir, env },
      ),
    );
    const kustomize = started(
      startProcess(
        'kustomize-controller',
        binaries.path('kustomize-controller'),
        [
          '--metrics-addr=0',
          `--health-addr=127.0.0.1:${kustomizeHealth}`,
          '--enable-leader-election=false',
          '--log-encoding=json',
        ],
        { dir, env },
      ),
    );
    await Promise.all([
      waitFor(source, async () => (await get(`http://127.0.0.1:${sourceHealth}/readyz`)) === 200, 60_000),
      waitFor(
        kustomize,
        async () => (await get(`http://127.0.0.1:${kustomizeHealth}/readyz`)) === 200,
        60_000,
      ),
    ]);
    return { server, token, caFile, kubeconfigPath, storageUrl, dir, processes, close };
  } catch (error) {
    await close();
    throw error;
  }
};
