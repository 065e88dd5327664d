#!/usr/bin/env bash
# Builds Hale (server + hydrated page) and runs it. With no config file it
# serves an empty status page on SQLite (./hale.db); pass `--config FILE`
# or create ./hale.yaml. Extra arguments go to `hale serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
scripts/build-site.sh
exec target/debug/hale serve "$@"
