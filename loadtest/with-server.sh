#!/usr/bin/env bash
# Runs hearth-loadtest against a fresh release server, then stops the server.
#
#   loadtest/with-server.sh [hearth serve flags --] <hearth-loadtest args>
#
# Starts `target/release/hearth serve --rate-limits off
# --max-connections-per-address 0 --listen 127.0.0.1:0` (every simulated
# client comes from 127.0.0.1)
# on a new temporary data directory (plus any serve flags given before `--`),
# waits for its "hearth listening on" line, runs
# `target/release/hearth-loadtest <args> --url <its URL> --server-pid <its pid>`,
# and stops the server and removes the data directory however the run ends.
# Build both first: cargo build --release -p hearth -p hearth-loadtest
# (binaries are taken from $CARGO_TARGET_DIR/release if that is set).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"

serve_flags=()
if [[ " $* " == *" -- "* ]]; then
  while [[ $# -gt 0 && "$1" != "--" ]]; do serve_flags+=("$1"); shift; done
  shift
fi

data=$(mktemp -d "${TMPDIR:-/tmp}/hearth-loadtest.XXXXXX")
out="$data/server.out"
server=
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

"$bin/hearth" serve --rate-limits off --max-connections-per-address 0 --listen 127.0.0.1:0 \
  --data-dir "$data/db" ${serve_flags[@]+"${serve_flags[@]}"} >"$out" 2>"$data/server.err" &
server=$!

url=
for _ in $(seq 300); do
  url=$(sed -n 's/^hearth listening on \(http:[^ ]*\).*/\1/p' "$out" | head -n1)
  [[ -n "$url" ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.err" >&2; exit 2; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "the server did not start" >&2; exit 2; }
echo "server pid $server at $url" >&2

status=0
"$bin/hearth-loadtest" "$@" --url "$url" --server-pid "$server" || status=$?
if grep -qiE 'panic|error' "$data/server.err"; then
  echo "--- server stderr (errors and panics):" >&2
  grep -iE 'panic|error' "$data/server.err" | head -n 20 >&2
fi
exit "$status"
