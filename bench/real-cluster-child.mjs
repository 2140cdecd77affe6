// Runs the real cluster (etcd, kube-apiserver, source-controller, kustomize-controller as local processes;
// test/support/real-cluster, compiled by real-cluster.mjs) from its own process. Prints one JSON line, either
// {missing: reason} (the binaries are not built; then it exits) or the cluster's address, token, CA and
// kubeconfig, then runs until SIGTERM or until stdin closes (the bench process went away).
const [, , binariesModule, clusterModule, processesModule] = process.argv;
const { findClusterBinaries } = await import(binariesModule);
const { startRealCluster } = await import(clusterModule);
const { removeStaleClusters } = await import(processesModule);

const lookup = await findClusterBinaries();
if (!lookup.found) {
  process.stdout.write(`${JSON.stringify({ missing: lookup.reason })}\n`);
  process.exit(0);
}
// A bench or test run that was killed may have left its cluster running (its pid file says so).
await removeStaleClusters();
let cluster;
let stopping = false;
let closing;
const stop = () => {
  stopping = true;
  if (cluster) closing ??= cluster.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
cluster = await startRealCluster(lookup.binaries);
if (stopping) stop();
else {
  const { binaries } = lookup;
  process.stdout.write(
    `${JSON.stringify({
      server: cluster.server,
      token: cluster.token,
      caFile: cluster.caFile,
      kubeconfigPath: cluster.kubeconfigPath,
      logDir: cluster.dir,
      fluxBinary: binaries.path('flux'),
      binariesDir: binaries.dir,
      versions: binaries.versions,
    })}\n`,
  );
}
