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

# PostgreSQL: the store's behaviour suite runs every case on it as well as on
# SQLite, and end-to-end tests start nodes on it. Use the server answering on
# 127.0.0.1:5432, else install Debian's and start it. Tests make (and drop)
# their own databases through the admin URL in HEARTH_TEST_POSTGRES; without
# it they fail rather than skip.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
pg_ready() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432
}
if [ -z "${HEARTH_TEST_POSTGRES:-}" ]; then
  if ! pg_ready; then
    command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
    echo "== starting PostgreSQL"
    if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
      as_root pg_createcluster "$(ls /usr/lib/postgresql | sort -V | tail -n 1)" main
    fi
    pg_lsclusters -h | while read -r version cluster _; do
      as_root pg_ctlcluster "$version" "$cluster" start || true
    done
    pg_ready || as_root service postgresql start || true
    for _ in $(seq 1 30); do
      pg_ready && break
      sleep 1
    done
    if ! pg_ready; then
      echo "PostgreSQL is not ready on 127.0.0.1:5432 after starting it; the store and end-to-end tests need it" >&2
      exit 1
    fi
  fi
  HEARTH_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/postgres"
  # Debian's configuration asks for a password over TCP: give the postgres
  # role one for the tests, through the local socket as the postgres user.
  if ! psql "$HEARTH_TEST_POSTGRES" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    as_root runuser -u postgres -- psql -Atqc "ALTER ROLE postgres PASSWORD 'hearth-tests'" >/dev/null
    HEARTH_TEST_POSTGRES="postgres://postgres:hearth-tests@127.0.0.1:5432/postgres"
  fi
  if ! psql "$HEARTH_TEST_POSTGRES" -Atqc 'SELECT 1' >/dev/null; then
    echo "cannot log in to PostgreSQL on 127.0.0.1:5432 as postgres" >&2
    exit 1
  fi
  export HEARTH_TEST_POSTGRES
fi

# cargo-nextest runs each test in its own process: end-to-end tests each
# start their own server, so one hung test cannot stall the rest.
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

# A new, empty Python virtual environment at $1 (Python and venv
# installed when missing).
fresh_venv() {
  command -v python3 >/dev/null 2>&1 || apt_install python3
  rm -rf "$1"
  if ! python3 -m venv "$1" >/dev/null 2>&1; then
    apt_install python3-venv
    rm -rf "$1"
    python3 -m venv "$1"
  fi
}
# A real bot library, unmodified: discord.py from PyPI, in a virtual
# environment of its own under target/, for the tests that run a bot with
# it (tests/e2e/bot_libraries.rs).
discord_py="$PWD/target/discord-py"
if ! "$discord_py/bin/python" -c 'import discord' >/dev/null 2>&1; then
  fresh_venv "$discord_py"
  echo "== installing discord.py"
  "$discord_py/bin/pip" install --quiet --disable-pip-version-check "discord.py==2.7.1"
  "$discord_py/bin/python" -c 'import discord' || {
    echo "discord.py did not install into $discord_py" >&2
    exit 1
  }
fi
export HEARTH_TEST_DISCORD_PY="$discord_py/bin/python"
# An S3-compatible server for the object-store tests (crates/files/tests/s3.rs):
# moto in server mode, from PyPI, in a virtual environment of its own. The
# tests start their own moto_server on a free port; nothing is started here.
moto_version="5.2.6"
moto="$PWD/target/moto"
if ! "$moto/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" >/dev/null 2>&1; then
  fresh_venv "$moto"
  echo "== installing moto $moto_version"
  "$moto/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" || {
    echo "moto[server]==$moto_version did not install into $moto; the S3 tests need it" >&2
    exit 1
  }
fi
"$moto/bin/moto_server" --help >/dev/null 2>&1 || {
  echo "$moto/bin/moto_server does not run; the S3 tests need it (remove $moto to reinstall)" >&2
  exit 1
}
export HEARTH_TEST_MOTO="$moto/bin/moto_server"
# And discord.js from npm (Node.js 20, made sure of above).
discord_js="$PWD/target/discord-js"
if [ ! -f "$discord_js/node_modules/discord.js/package.json" ]; then
  echo "== installing discord.js"
  npm install --silent --no-audit --no-fund --prefix "$discord_js" "discord.js@14.28.1"
  [ -f "$discord_js/node_modules/discord.js/package.json" ] || {
    echo "discord.js did not install into $discord_js" >&2
    exit 1
  }
fi
export HEARTH_TEST_DISCORD_JS="$discord_js/node_modules"
# And twilight, the Rust library: a bot of its own package (its own lock
# file, its own target directory), so Hearth's builds never carry it.
echo "== building the twilight bot"
cargo build --quiet --locked \
  --manifest-path tests/e2e/bots/twilight_bot/Cargo.toml \
  --target-dir "$PWD/target/twilight-bot"
export HEARTH_TEST_TWILIGHT_BOT="$PWD/target/twilight-bot/debug/hearth-twilight-bot"

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
