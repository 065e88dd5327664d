#!/usr/bin/env bash
# Builds the release `hale`: one self-contained binary that carries its
# site (the page's wasm, JS, CSS and chunks, each also gzip- and
# brotli-compressed), so `hale serve` works from any directory with no
# other file. Writes target/dist/hale and prints its path.
#
# The release site is built into target/release-site, beside the debug
# one the tests use (target/site), and the server's build script embeds
# it (server/build.rs, HALE_EMBED_SITE).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$SECONDS
scripts/bootstrap.sh
LEPTOS_SITE_ROOT=target/release-site HALE_EMBED_SITE="$PWD/target/release-site" \
  scripts/build-site.sh --release --precompress
mkdir -p target/dist
cp target/server-release/hale target/dist/hale
echo "target/dist/hale: $(du -h target/dist/hale | cut -f1), built in $((SECONDS - started)) s" >&2
echo "$PWD/target/dist/hale"
