#!/usr/bin/env bash
# Installs what building and testing Hale needs, skipping whatever is present.
# Everything comes from the package registries (crates.io, npm, Debian): no
# tool here may download a prebuilt binary, as that fails on our machines.
# Usage: scripts/bootstrap.sh [--e2e] [--bench]
#   --e2e adds Chromium and Playwright, and promtool (Debian's prometheus,
#   for the tests of deploy/prometheus); --bench adds wrk (the render
#   benchmark's load generator), from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs rustc 1.96
WASM_BINDGEN_VERSION=0.2.130  # must equal the wasm-bindgen crate pinned in Cargo.toml

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (once per machine; 15-30 min on 2 cores)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once per machine)"
  # Not --locked: its lock pins a webpki-roots the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ -f package.json ] && { [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ]; }; then
  log "installing npm packages (tailwind, binaryen)"
  # `npm ci` trips on optional per-platform entries of the lock; install works.
  npm install --no-audit --no-fund --loglevel=error
fi

e2e=false bench=false
for arg in "$@"; do
  case "$arg" in
    --e2e) e2e=true ;;
    --bench) bench=true ;;
    *) echo "bootstrap.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # dpkg sometimes reports "cannot access archive" the first time; a retry works.
  apt-get install -y -qq "$@" || apt-get install -y -qq "$@"
}

if $bench && ! command -v wrk >/dev/null; then
  log "installing Debian's wrk"
  apt_install wrk
fi

if $e2e; then
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's chromium"
    apt_install chromium
  fi
  if ! command -v promtool >/dev/null; then
    # 22.5 MB to fetch, about 20 s, 332 MB on disk (218 of it a JS time
    # zone package the web UI depends on). Where systemd runs, the package
    # starts a Prometheus on :9090: stop it, only promtool is wanted.
    log "installing Debian's prometheus (for promtool)"
    apt_install --no-install-recommends prometheus
    if [ -d /run/systemd/system ]; then systemctl disable --now prometheus || true; fi
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    log "installing Playwright (the test runner only; it uses /usr/bin/chromium)"
    (cd end2end && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi)
  fi
fi
