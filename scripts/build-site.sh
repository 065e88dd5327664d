#!/usr/bin/env bash
# Builds the site (and, unless --frontend-only, the server) the one way
# every script does. Arguments go to `cargo leptos build`, e.g.
#   scripts/build-site.sh                                          # debug, as run.sh and test.sh
#   scripts/build-site.sh --release --precompress --frontend-only  # bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# cargo-leptos leaves target/site/pkg's other files alone: a release build
# made with --precompress leaves .br and .gz files that Hale would prefer
# over a later build's files, and split chunks are named after their
# source, so an older build's would stay.
# The site root is LEPTOS_SITE_ROOT's when set (scripts/release.sh builds
# into target/release-site and must leave the tests' target/site alone).
pkg="${LEPTOS_SITE_ROOT:-target/site}/pkg"
rm -f "$pkg"/*.br "$pkg"/*.gz "$pkg"/split_*.wasm "$pkg"/chunk_*.wasm
# --split: the detail page's island is lazy (#[island(lazy)]); its code goes
# to a chunk of its own that the status page never loads.
exec cargo leptos build --split "$@"
