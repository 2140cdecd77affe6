#!/usr/bin/env bash
# Idempotent machine set-up for ksail-fluxd's tests on a fresh Debian machine:
#  1. apt packages: docker.io, docker-registry (the distribution server), skopeo (independent OCI client),
#     systemd (systemd-analyze verify for the unit), git;
#  2. a Docker engine: starts dockerd in the background when none answers;
#  3. the image registry:3: pulled, or, when the pull fails (no Docker Hub here), built locally from the
#     docker-registry binary with `docker import`;
#  4. node modules (npm ci).
set -euo pipefail

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
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  $SUDO mkdir -p /var/log
  # setsid: the engine outlives this script and is not killed with its process group.
  $SUDO setsid dockerd >/var/log/ksail-fluxd-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/ksail-fluxd-dockerd.log"; tail -20 /var/log/ksail-fluxd-dockerd.log >&2; exit 1; }
fi

if ! docker image inspect registry:3 >/dev/null 2>&1; then
  if timeout 60 docker pull registry:3 >/dev/null 2>&1; then
    log "pulled registry:3"
  else
    log "cannot pull registry:3; building it from the docker-registry package"
    "$(dirname "$0")/build-registry-image.sh" registry:3
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  npm ci --no-audit --no-fund >/dev/null
fi
log "ready"
