#!/usr/bin/env bash
# Runs every benchmark and rewrites the results table in docs/benchmarks.md.
#
#   scripts/bench.sh            the figures: release builds, full sizes
#                               (about 40 min on 2 cores, most of it the
#                               first release build of the wasm)
#   scripts/bench.sh --soak     the same, then the roll-up's soak (70 min
#                               more: 10,000 services for over an hour)
#   scripts/bench.sh --short    a quick pass that proves every benchmark
#                               still runs (CI): debug builds, small sizes,
#                               no judgement; the table goes to
#                               target/bench-results/benchmarks.md instead
#
# Each benchmark writes its rows to target/bench-results/<name>.json;
# scripts/bench-table.mjs turns them into the table. One benchmark alone:
# `cargo bench -p server --bench NAME` (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
short="" soak=""
for arg in "$@"; do
  case "$arg" in
    --short) short="--short" ;;
    --soak) soak=yes ;;
    *) echo "bench.sh: unknown option $arg (--short or --soak)" >&2; exit 2 ;;
  esac
done
started=$SECONDS
step() { printf '\n\033[1;34m==> %s\033[0m (%ss)\n' "$*" "$((SECONDS - started))" >&2; }

step "installing what is missing"
scripts/bootstrap.sh --e2e --bench

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

export HALE_BENCH_RESULTS="$PWD/target/bench-results"
rm -rf "$HALE_BENCH_RESULTS"
mkdir -p "$HALE_BENCH_RESULTS"

benches=(probe_engine history fanout render startup page halfopen)
# The soak runs for over an hour at full size: with --soak only, and in
# every short pass (a minute) to prove it runs.
if [ -n "$soak" ] || [ -n "$short" ]; then benches+=(soak); fi
if [ -n "$short" ]; then
  # The test build's profile and artifacts: nothing is compiled twice.
  step "building the site (debug, as the tests do)"
  scripts/build-site.sh
  run() { cargo test -p server --bench "$1" -- --short "${@:2}"; }
  build=debug
else
  step "building the site (release wasm, precompressed)"
  scripts/build-site.sh --release --precompress --frontend-only
  run() { cargo bench -p server --bench "$1" -- "${@:2}"; }
  build=release
fi

for bench in "${benches[@]}"; do
  step "benchmark: $bench"
  if [ "$bench" = page ]; then run "$bench" --build "$build"; else run "$bench"; fi
done

step "the results table"
if [ -n "$short" ]; then
  cp docs/benchmarks.md "$HALE_BENCH_RESULTS/benchmarks.md"
  node scripts/bench-table.mjs "$HALE_BENCH_RESULTS" "$HALE_BENCH_RESULTS/benchmarks.md"
else
  node scripts/bench-table.mjs "$HALE_BENCH_RESULTS" docs/benchmarks.md
fi
step "done in $((SECONDS - started)) s"
