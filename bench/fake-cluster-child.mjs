// Runs the fake Kubernetes API + Flux controllers (test/support/fake-cluster, compiled by fake-cluster.mjs) in its
// own process, so its controllers' work does not skew the bench's timings. Prints one JSON line with the URL and
// kubeconfig, then runs until SIGTERM or until stdin closes (the bench process went away).
const [, , modulePath, fluxCrdDir] = process.argv;
const { startFakeCluster } = await import(modulePath);
const cluster = await startFakeCluster(fluxCrdDir ? { fluxCrdDir } : {});
let closing;
const stop = () => {
  closing ??= cluster.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.stdout.write(
  `${JSON.stringify({ url: cluster.url, kubeconfigPath: cluster.kubeconfigPath, contextName: cluster.contextName })}\n`,
);
