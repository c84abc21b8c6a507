#!/usr/bin/env bash
# Runs Hearth's whole test suite on a machine that has only the Rust
# toolchain: installs what the tests need, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The voice tests encode real Opus: the `opus` crate builds libopus with
# cmake. Install it from the system's packages when it is missing and we
# may (as root, or through sudo without a password prompt).
if ! command -v cmake >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "cmake is missing and cannot be installed without root or sudo: install cmake first" >&2
    exit 1
  fi
  echo "== installing cmake"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y cmake
fi

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

# The web client in a real browser: Debian's Chromium, driven by
# playwright-core, against the binary the step above built.
echo "== browser tests"
bash web/tests/run.sh
