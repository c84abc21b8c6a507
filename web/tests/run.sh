#!/usr/bin/env bash
# Runs the web client's tests in Debian's Chromium against a real
# `hearth serve`. Installs Chromium, iproute2, Node.js and npm when missing
# (as root, or through sudo without a prompt), and playwright-core from the
# lock file; without root it says so and fails rather than skip.
#
# The server and the browser run inside a network namespace with only the
# loopback interface up: Chromium, once granted a microphone, offers ICE
# candidates on every interface it sees; in the namespace it sees only
# 127.0.0.1, and nothing can leave the machine.
#
# Arguments go to `node --test`, e.g. --test-name-pattern='SFU node'.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  # Not skipped: a test suite that silently runs less is worse than one
  # that fails and says why.
  echo "the browser tests need root or password-less sudo (apt-get, ip netns): cannot run them" >&2
  exit 1
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# `node --test-timeout` and playwright-core need Node.js 20 or later.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js $(node --version) is too old for the browser tests: they need 20 or later" >&2
  exit 1
fi

if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
  echo "== installing playwright-core and axe-core"
  (cd "$here" && npm ci --no-audit --no-fund)
fi

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
if [ -z "${HEARTH_BIN:-}" ]; then
  # The same target set as `cargo nextest run --workspace`, so features
  # resolve alike and, after the test step, nothing is rebuilt.
  cargo build --workspace --tests
  HEARTH_BIN="$target/debug/hearth"
fi
export HEARTH_BIN
export HEARTH_BROWSER_ARTIFACTS="${HEARTH_BROWSER_ARTIFACTS:-$target/browser-artifacts}"
mkdir -p "$HEARTH_BROWSER_ARTIFACTS"

ns="hearth-web-$$"
relay_pid=""
relay_dir=""
cleanup() {
  $sudo ip netns del "$ns" 2>/dev/null || true
  [ -z "$relay_pid" ] || kill "$relay_pid" 2>/dev/null || true
  [ -z "$relay_dir" ] || rm -rf "$relay_dir"
}
trap cleanup EXIT
$sudo ip netns add "$ns"
$sudo ip netns exec "$ns" ip link set lo up

# The cluster test's nodes need the Redis server HEARTH_TEST_REDIS names
# (scripts/test.sh exports it), which the namespace cannot reach over TCP:
# a relay outside it takes connections on a Unix socket (harness.js's
# `clusterRedis`). Without HEARTH_TEST_REDIS that test fails and says so.
if [ -n "${HEARTH_TEST_REDIS:-}" ]; then
  relay_dir="$(mktemp -d)"
  chmod 755 "$relay_dir"
  node "$here/redis-relay.js" "$relay_dir/redis.sock" "$HEARTH_TEST_REDIS" &
  relay_pid=$!
  for _ in $(seq 1 50); do [ -S "$relay_dir/redis.sock" ] && break; sleep 0.1; done
  [ -S "$relay_dir/redis.sock" ] || { echo "the Redis relay did not start" >&2; exit 1; }
fi

echo "== browser tests (artifacts in $HEARTH_BROWSER_ARTIFACTS)"
# Chromium needs a writable home for its profile; the test's own limit
# bounds the whole run.
$sudo ip netns exec "$ns" env HOME="${HOME:-/tmp}" HEARTH_BIN="$HEARTH_BIN" \
  HEARTH_BROWSER_ARTIFACTS="$HEARTH_BROWSER_ARTIFACTS" \
  HEARTH_TEST_REDIS="${HEARTH_TEST_REDIS:-}" \
  HEARTH_TEST_REDIS_SOCKET="${relay_dir:+$relay_dir/redis.sock}" \
  HEARTH_TEST_DISCORD_JS="${HEARTH_TEST_DISCORD_JS:-}" \
  timeout 600 node --test --test-concurrency=1 --test-timeout=300000 "$@" "$here"/*.test.js
