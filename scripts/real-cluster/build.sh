#!/usr/bin/env bash
# Builds the real cluster's binaries from pinned Go modules and nothing else: etcd, kube-apiserver,
# source-controller, kustomize-controller and the flux CLI. Each comes from a wrapper module of ours under
# modules/<name> (go.mod + go.sum pin every version; the upstream modules' own `replace` lines are copied there),
# fetched through the Go module proxy. No binary is downloaded.
#
# The result is cached outside the clone, keyed by the Go version and the wrapper modules' contents:
#   ${KSAIL_FLUXD_CLUSTER_CACHE:-${XDG_CACHE_HOME:-~/.cache}/ksail-fluxd/real-cluster}/<key>/{bin,crds}
# A complete cache entry skips the build. The last line on stdout is that directory; progress goes to stderr.
# `build.sh --cached` only looks: it prints the directory when it is complete, else exits 3 (the test harness uses
# it, so the cache key is computed in this one place).
set -euo pipefail
cached_only=false
if [ "${1:-}" = --cached ]; then cached_only=true; fi

here="$(cd "$(dirname "$0")" && pwd)"
modules="$here/modules"
log() { printf '[real-cluster] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || {
  log "go is not installed; install Go 1.26 (https://go.dev/doc/install) to build the real cluster"
  exit 1
}

cache_root="${KSAIL_FLUXD_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ksail-fluxd/real-cluster}"
key="$( (go env GOVERSION GOOS GOARCH; cd "$modules" && find . -type f | LC_ALL=C sort | xargs sha256sum) |
  sha256sum | cut -c1-16)"
out="$cache_root/$key"
if [ -f "$out/complete" ]; then
  $cached_only || log "binaries are cached in $out"
  printf '%s\n' "$out"
  exit 0
fi
if $cached_only; then
  log "not built yet: run bash scripts/real-cluster/build.sh"
  exit 3
fi

mkdir -p "$cache_root"
stage="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/crds" "$stage/work"
started=$SECONDS

# Copies a wrapper module to a scratch directory (the clone stays clean) and builds `package` in it.
build() {
  local module="$1" package="$2" name="$3" ldflags="${4:-}"
  local work="$stage/work/$module" t0=$SECONDS
  cp -R "$modules/$module" "$work"
  if [ "$module" = flux ]; then prepare_flux "$work"; fi
  log "building $name ($package)"
  (cd "$work" && GOFLAGS=-mod=mod go build -trimpath -buildvcs=false -ldflags "-s -w $ldflags" \
    -o "$stage/bin/$name" "$package")
  log "built $name in $((SECONDS - t0)) s"
}

# flux2's cmd/flux embeds manifests/*.yaml, which its Makefile generates and its module therefore lacks. The
# manifests only serve `flux install`; the harness installs the CRDs from the controllers' modules instead. So the
# module is copied into the scratch directory with one placeholder manifest and used through a replace.
prepare_flux() {
  local work="$1" dir
  dir="$(cd "$work" && go mod download -json github.com/fluxcd/flux2/v2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || { log "could not download github.com/fluxcd/flux2/v2"; exit 1; }
  cp -R "$dir" "$work/flux2"
  chmod -R u+w "$work/flux2"
  mkdir -p "$work/flux2/cmd/flux/manifests"
  printf '# placeholder: flux install is not used by the ksail-fluxd tests\n' \
    >"$work/flux2/cmd/flux/manifests/placeholder.yaml"
  (cd "$work" && go mod edit -replace github.com/fluxcd/flux2/v2=./flux2)
}

version_of() { (cd "$modules/$1" && go list -m -f '{{.Version}}' "$2"); }

k8s="$(version_of kube-apiserver k8s.io/kubernetes)"
build etcd ksail-fluxd.local/real-cluster/etcd etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver \
  "-X k8s.io/component-base/version.gitVersion=$k8s"
build source-controller github.com/fluxcd/source-controller source-controller
build kustomize-controller github.com/fluxcd/kustomize-controller kustomize-controller
build flux github.com/fluxcd/flux2/v2/cmd/flux flux "-X main.VERSION=$(version_of flux github.com/fluxcd/flux2/v2 | sed 's/^v//')"

# Flux's CRDs, from the controllers' own modules (source-controller needs all five source kinds to start).
for module in source-controller kustomize-controller; do
  path="$(cd "$modules/$module" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$module")"
  cp "$path"/config/crd/bases/*.yaml "$stage/crds/"
done
chmod u+w "$stage"/crds/*.yaml

{
  printf '{\n'
  printf '  "etcd": "%s",\n' "$(version_of etcd go.etcd.io/etcd/server/v3)"
  printf '  "kube-apiserver": "%s",\n' "$k8s"
  printf '  "source-controller": "%s",\n' "$(version_of source-controller github.com/fluxcd/source-controller)"
  printf '  "kustomize-controller": "%s",\n' "$(version_of kustomize-controller github.com/fluxcd/kustomize-controller)"
  printf '  "flux": "%s",\n' "$(version_of flux github.com/fluxcd/flux2/v2)"
  printf '  "go": "%s",\n' "$(go env GOVERSION)"
  printf '  "buildSeconds": %d\n' "$((SECONDS - started))"
  printf '}\n'
} >"$stage/versions.json"
rm -rf "$stage/work"
touch "$stage/complete"
rm -rf "$out"
mv "$stage" "$out"
trap - EXIT
log "built everything in $((SECONDS - started)) s into $out"
printf '%s\n' "$out"
