#!/usr/bin/env bash
# Runs every test: formatting and lints (fmt, clippy), unit and integration tests (SQLite
# and Postgres), the release binary (built, then tested alone in an empty
# directory), the Playwright tests in Debian's Chromium, and a short pass
# of every benchmark (it proves they run; no timing is judged). Installs
# what it needs first. The dependency graph is compiled once: `cargo leptos
# build` and `cargo test` share features and flags (see .cargo/config.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$SECONDS
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
step() { printf '\n\033[1;34m==> %s\033[0m (%ss)\n' "$*" "$((SECONDS - started))" >&2; }

step "installing what is missing"
scripts/bootstrap.sh --e2e --bench

step "checking Postgres at 127.0.0.1:5432"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (server and tests; the browser crate for wasm)"
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "building the site and the server (cargo leptos build --split)"
scripts/build-site.sh

step "unit and integration tests (SQLite and Postgres)"
cargo test --workspace --exclude frontend --lib --tests 2>&1 | tee "$logs/cargo.log"
read -r rust_passed rust_failed < <(awk '/^test result:/ {
    for (i = 2; i <= NF; i++) { if ($i ~ /^passed;/) p += $(i-1); if ($i ~ /^failed;/) f += $(i-1) }
  } END { print p + 0, f + 0 }' "$logs/cargo.log")

step "building the release binary, which carries its site (scripts/release.sh)"
scripts/release.sh >/dev/null

step "end-to-end tests in Chromium (release.spec.ts runs target/dist/hale alone)"
(cd end2end && PLAYWRIGHT_JSON_OUTPUT_NAME="$logs/playwright.json" npx playwright test --reporter=list,json)
read -r e2e_passed e2e_failed < <(node -e '
  const s = require(process.argv[1]).stats;
  console.log(s.expected, s.unexpected + s.flaky);' "$logs/playwright.json")

step "benchmarks, short pass (scripts/bench.sh --short)"
scripts/bench.sh --short 2>&1 | tee "$logs/bench.log"
# bench-table.mjs ends with "<file>: N rows, M missed".
bench_rows=$(grep -o '[0-9]* rows' "$logs/bench.log" | tail -1 || true)

step "done"
echo "cargo: $rust_passed passed, $rust_failed failed"
echo "playwright: $e2e_passed passed, $e2e_failed failed"
echo "benchmarks (short pass): every one ran, ${bench_rows:-no rows} in target/bench-results/benchmarks.md"
echo "total: $((rust_passed + e2e_passed)) passed, $((rust_failed + e2e_failed)) failed"
