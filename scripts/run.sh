#!/usr/bin/env bash
# Builds Hale (server + hydrated page) and runs it. With no config file it
# serves an empty status page on SQLite (./hale.db); pass `--config FILE`
# or create ./hale.yaml. Extra arguments go to `hale serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
# A release build made with --precompress (scripts/bench.sh) leaves .br and
# .gz files that Hale would prefer over this build's files.
rm -f target/site/pkg/*.br target/site/pkg/*.gz
# Split chunks are named after their source; an old build's would stay.
rm -f target/site/pkg/split_*.wasm target/site/pkg/chunk_*.wasm
# --split: the detail page is a lazy route (#[lazy_route]); its code goes
# to a chunk of its own that the status page never loads.
cargo leptos build --split
exec target/debug/hale serve "$@"
