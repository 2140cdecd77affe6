#!/usr/bin/env bash
# Builds a minimal image with the given tag (default registry:3) from Debian's docker-registry binary (the same
# distribution server as the official image): the binary, its shared libraries, ld.so and a config with manifest
# deletion enabled, imported with `docker import`. ENTRYPOINT /bin/registry, CMD serve <config>, like registry:3.
set -euo pipefail
tag="${1:-registry:3}"
bin="$(command -v docker-registry)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/etc/docker/registry" "$root/var/lib/registry" "$root/tmp"
cp "$bin" "$root/bin/registry"
# Shared libraries (none for a static Go binary, a few for a cgo one) and the loader.
for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cat >"$root/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
# DOCKER: how to call docker (ci-setup.sh passes "sudo docker" to a caller that is not root).
tar -C "$root" -c . | ${DOCKER:-docker} import \
  --change 'ENTRYPOINT ["/bin/registry"]' \
  --change 'CMD ["serve", "/etc/docker/registry/config.yml"]' \
  --change 'EXPOSE 5000' \
  --change 'VOLUME ["/var/lib/registry"]' \
  - "$tag" >/dev/null
echo "built $tag" >&2
