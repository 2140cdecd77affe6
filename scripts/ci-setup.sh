#!/usr/bin/env bash
# Idempotent machine set-up for ksail-fluxd's tests on a fresh Debian machine:
#  1. apt packages: docker.io, docker-registry (the distribution server), skopeo (independent OCI client),
#     systemd (systemd-analyze verify for the unit), git, chromium (the dashboard's browser tests drive Debian's
#     build through playwright-core; no browser is ever downloaded);
#  2. a Docker engine: starts dockerd in the background when none answers;
#  3. the image registry:3: pulled, or, when the pull fails (no Docker Hub here), built locally from the
#     docker-registry binary with `docker import`;
#  4. node modules (npm ci);
#  5. with --real-cluster: the real cluster's binaries (etcd, kube-apiserver, source-controller,
#     kustomize-controller, flux), built from pinned Go modules by scripts/real-cluster/build.sh, or reused from its
#     cache. Without Go this fails under CI=true (the real-cluster tests must run there) and warns elsewhere.
set -euo pipefail
real_cluster=false
for arg in "$@"; do
  case "$arg" in
    --real-cluster) real_cluster=true ;;
    *) printf '[ci-setup] unknown option %s (known: --real-cluster)\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf '[ci-setup] %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need_pkgs+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need_pkgs+=(skopeo)
command -v systemd-analyze >/dev/null 2>&1 || need_pkgs+=(systemd)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# The engine's socket belongs to root and the docker group: a caller that is not root talks to it through sudo
# here (it may not be in that group, or not yet in this login).
DOCKER="docker"
if [ -n "$SUDO" ]; then DOCKER="$SUDO docker"; fi

if ! $DOCKER info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd_log=/var/log/ksail-fluxd-dockerd.log
  $SUDO mkdir -p /var/log
  # setsid: the engine outlives this script and is not killed with its process group. The redirect is made by
  # the shell that sudo starts, so that a caller who is not root can write the root-owned log. Every other
  # descriptor is closed: run under `flock /tmp/ksail-fluxd-tests.lock ...`, dockerd would inherit the lock's
  # descriptor and hold the test lock for as long as it runs, so no test run could ever take it again.
  $SUDO sh -c 'for fd in 3 4 5 6 7 8 9; do eval "exec $fd>&-"; done; exec setsid dockerd >"$1" 2>&1 </dev/null' _ "$dockerd_log" &
  for _ in $(seq 1 60); do
    $DOCKER info >/dev/null 2>&1 && break
    sleep 1
  done
  $DOCKER info >/dev/null 2>&1 || { log "dockerd did not start; see $dockerd_log"; $SUDO tail -20 "$dockerd_log" >&2; exit 1; }
fi

if ! $DOCKER image inspect registry:3 >/dev/null 2>&1; then
  if timeout 60 $DOCKER pull registry:3 >/dev/null 2>&1; then
    log "pulled registry:3"
  else
    log "cannot pull registry:3; building it from the docker-registry package"
    DOCKER="$DOCKER" "$(dirname "$0")/build-registry-image.sh" registry:3
  fi
fi

# The tests run docker as this user, without sudo; on CI they fail rather than skip when it does not answer.
if [ -n "$SUDO" ] && ! docker info >/dev/null 2>&1; then
  log "dockerd runs, but $(id -un) cannot use it; run: sudo usermod -aG docker $(id -un), then log in again"
  exit 1
fi

# playwright-core drives /usr/bin/chromium; nothing may fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  npm ci --no-audit --no-fund >/dev/null
fi

if $real_cluster; then
  if command -v go >/dev/null 2>&1; then
    bash "$(dirname "$0")/real-cluster/build.sh" >/dev/null
  elif [ -n "${CI:-}" ]; then
    log "CI is set but Go is not installed, so the real cluster cannot be built; install Go 1.26"
    exit 1
  else
    log "Go is not installed: the real-cluster tests will be skipped (install Go 1.26 to run them)"
  fi
fi
log "ready"
