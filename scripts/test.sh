#!/usr/bin/env bash
# Runs Hearth's whole test suite on a machine that has only the Rust
# toolchain: installs what the tests need, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs Debian packages when we may: as root, or through sudo without a
# password prompt. Otherwise says what is missing and fails: a test that
# cannot run is a failure, never a silent skip.
apt_install() {
  local sudo
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "missing: $* -- cannot install without root or password-less sudo; install them first" >&2
    exit 1
  fi
  echo "== installing $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# The voice tests encode real Opus: the `opus` crate builds libopus with
# cmake.
command -v cmake >/dev/null 2>&1 || apt_install cmake

# The cluster tests run nodes that talk through Redis: the one named by
# HEARTH_TEST_REDIS, else this machine's on 127.0.0.1:6379, started here
# if it is not running. Some tests start (and stop) a redis-server of their
# own, so the binary must be installed either way.
command -v redis-server >/dev/null 2>&1 || apt_install redis-server
if [ -z "${HEARTH_TEST_REDIS:-}" ]; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "== starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no >/dev/null
    for _ in $(seq 1 50); do
      redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "Redis is not answering on 127.0.0.1:6379 and could not be started" >&2
    exit 1
  fi
  export HEARTH_TEST_REDIS="redis://127.0.0.1:6379"
fi

# The browser tests run under Node.js (node --test) and install
# playwright-core with npm.
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
# playwright-core and `node --test-timeout` need Node.js 20 or later.
# Debian 12's own package is 18: then take Node.js 20 from the npm registry
# (the `node` package ships the binary) into target/, and put it first on
# PATH for the browser tests.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  node20="$PWD/target/node20"
  if [ ! -x "$node20/node_modules/.bin/node" ]; then
    echo "== Node.js $(node --version) is too old for the browser tests; installing Node.js 20 from npm"
    npm install --silent --prefix "$node20" node@20
  fi
  export PATH="$node20/node_modules/.bin:$PATH"
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$node_major" -lt 20 ]; then
    echo "Node.js $(node --version) is too old for the browser tests: they need 20 or later" >&2
    exit 1
  fi
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

# Every fuzz target for a short while (an unoptimised build: quicker to
# build, and this is a smoke run; long runs are documented in
# docs/security.md). A crash fails the suite.
echo "== fuzzing"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" FUZZ_BUILD_ARGS="${FUZZ_BUILD_ARGS:---dev}" bash scripts/fuzz.sh
