#!/usr/bin/env bash
# Builds Hale's container image (deploy/Containerfile) from a static musl
# binary built here, starts it with podman and checks what it serves: the
# health endpoint, the status page, /metrics with a service it probes, and
# the image's HEALTHCHECK (`hale check`). No network is needed beyond
# Debian's packages (FROM scratch: nothing is pulled).
#
# Usage: scripts/container-test.sh
#   HALE_BINARY=path   use this static binary instead of building one
#   KEEP=1             leave the container running (its name is printed)
# Installs what is missing: the musl target (rustup), musl-tools and
# podman (apt-get, as root). The image is tagged localhost/hale:latest,
# the name deploy/compose.yaml uses.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$SECONDS
log() { printf '\033[1;34m[container-test]\033[0m %s (%ss)\n' "$*" "$((SECONDS - started))" >&2; }
target=x86_64-unknown-linux-musl
image=localhost/hale:latest

# apt_install, podman, and the `runtime` and `limits` this machine needs.
. scripts/lib/podman.sh

binary=${HALE_BINARY:-}
if [ -z "$binary" ]; then
  if ! rustup target list --installed | grep -qx "$target"; then
    log "adding the $target target"
    rustup target add "$target"
  fi
  command -v x86_64-linux-musl-gcc >/dev/null || { log "installing Debian's musl-tools"; apt_install --no-install-recommends musl-tools; }
  # The site scripts/release.sh built, embedded when it is there.
  embed=""
  if [ -f target/release-site/pkg/hale.js ]; then
    embed="$PWD/target/release-site"
    log "building hale for $target with the site of $embed"
  else
    log "building hale for $target without a site (run scripts/release.sh first to embed one; pages render unstyled)"
  fi
  if [ -n "$embed" ]; then export HALE_EMBED_SITE="$embed"; fi
  cargo build --profile server-release -p server --bin hale --target "$target"
  binary=target/$target/server-release/hale
fi
if readelf -l "$binary" | grep -q 'Requesting program interpreter'; then
  echo "container-test: $binary is dynamically linked; FROM scratch needs a static binary" >&2
  exit 1
fi
log "binary: $binary, $(du -h "$binary" | cut -f1), static"

ctx=$(mktemp -d)
name=hale-test-$$
port=${PORT:-38080}
cleanup() {
  if [ "${KEEP:-}" != 1 ]; then podman rm -f -v "$name" >/dev/null 2>&1 || true; fi
  rm -rf "$ctx"
}
trap cleanup EXIT
mkdir "$ctx/data"
# Without its symbols: about a fifth smaller.
if command -v strip >/dev/null; then strip -o "$ctx/hale" "$binary"; else cp "$binary" "$ctx/hale"; fi
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
cat >"$ctx/hale.yaml" <<'EOF'
title: Container test
services:
  - name: self
    url: http://127.0.0.1:3000/api/health/live
    interval: 2s
    failure_threshold: 1
    success_threshold: 1
EOF
chmod 644 "$ctx/hale.yaml"

log "podman build (--format docker keeps the HEALTHCHECK)"
podman build --quiet --format docker -f deploy/Containerfile -t "$image" "$ctx" >/dev/null
log "image $image: $(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec) ($(podman info --format '{{.Store.GraphDriverName}}') storage, $( [ "$(id -u)" = 0 ] && echo rootful || echo rootless))"

run() {
  podman run -d --name "$name" "${runtime[@]}" "${limits[@]}" "$@" \
    -v "$ctx/hale.yaml:/etc/hale/hale.yaml:ro" "$image" --config /etc/hale/hale.yaml >/dev/null
}
if run -p "127.0.0.1:$port:3000"; then
  log "started $name, port $port published"
else
  # Where the runtime can't set up a network namespace (nested in a
  # container without the privileges), share the host's.
  log "publishing a port failed; trying --network host"
  podman rm -f -v "$name" >/dev/null 2>&1 || true
  sed -i "s#127.0.0.1:3000#127.0.0.1:$port#" "$ctx/hale.yaml"
  run --network host -e HALE_LISTEN="127.0.0.1:$port"
fi
base=http://127.0.0.1:$port

for _ in $(seq 60); do
  curl -fsS "$base/api/health" >/dev/null 2>&1 && break
  sleep 0.5
done
fail() { echo "container-test: $*" >&2; podman logs "$name" 2>&1 | tail -20 >&2; exit 1; }
health=$(curl -fsS "$base/api/health") || fail "no answer from $base/api/health"
log "GET /api/health: $health"
case "$health" in *'"status":"healthy"'*'"database":"healthy"'* | *'"database":"healthy"'*'"status":"healthy"'*) ;;
  *) fail "unexpected health: $health" ;;
esac
curl -fsS "$base/" | grep -q "Container test" || fail "the status page lacks its title"
log "GET /: the status page"
# The page's stylesheet, from the site inside the binary (server/build.rs).
css=$(curl -fsS "$base/" | grep -o 'href="/pkg/[^"]*hale\.css"' | head -1 | cut -d'"' -f2 || true)
if [ -n "$css" ] && curl -fsS -o /dev/null -D "$ctx/css.head" "$base$css" \
  && grep -qi '^cache-control: .*immutable' "$ctx/css.head"; then
  log "GET $css: 200, immutable (the site is embedded)"
elif [ -n "${embed:-}" ]; then
  fail "the embedded site's stylesheet ($css) is not served as an immutable asset"
else
  log "no embedded site in this binary: the page is unstyled"
fi
for _ in $(seq 30); do
  curl -fsS "$base/metrics" | grep -q '^hale_service_up{service="self"} 1' && break
  sleep 0.5
done
curl -fsS "$base/metrics" | grep '^hale_service_up{service="self"} 1' >&2 || fail "the service it probes is not up in /metrics"
if podman healthcheck run "$name" >/dev/null; then
  log "podman healthcheck run: healthy"
else
  fail "the image's HEALTHCHECK (hale check) failed"
fi
user=$(podman exec "$name" /hale --version 2>/dev/null || true)
log "running as $(podman inspect --format '{{.Config.User}}' "$name"); $user"
[ "${KEEP:-}" = 1 ] && log "left running: $name at $base"
echo "container-test: 1 passed, 0 failed"
