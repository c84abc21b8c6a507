#!/usr/bin/env bash
# Runs Hearth's whole test suite on a machine that has only the Rust
# toolchain: installs what the tests need, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-nextest runs each test in its own process: end-to-end tests each
# start their own server, so one hung test cannot stall the rest.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

echo "== formatting"
cargo fmt --all -- --check

echo "== tests"
cargo nextest run --workspace --no-fail-fast "$@"
