#!/usr/bin/env bash
# Runs `hearth-loadtest chat` against N release nodes of one cluster on
# loopback, then stops them and drops their database.
#
#   loadtest/cluster.sh [--nodes N] [--no-redis] [--postgres ADMIN_URL]
#                       [--redis URL] [hearth serve flags --] <chat args>
#
# Makes a fresh PostgreSQL database (through ADMIN_URL, default
# postgres://postgres@127.0.0.1:5432/postgres, or $HEARTH_BENCH_POSTGRES),
# picks a Redis key prefix no other run uses (on URL, default
# redis://127.0.0.1:6379, or $HEARTH_BENCH_REDIS), and starts N nodes
# (default 2):
#
#   target/release/hearth serve --rate-limits off --max-connections-per-address 0
#     --listen 127.0.0.1:0 --database <db> --redis <url> --redis-prefix <prefix>
#
# each on its own temporary data directory, plus any serve flags given
# before `--`. With --no-redis it starts one node without Redis (its events
# stay in the process): the single-node baseline on the same database.
# Then it runs
#
#   target/release/hearth-loadtest chat <chat args> --url <node URLs>
#     --server-pid <node pids> [--redis-pid <pid>]
#
# (the Redis pid only when that Redis runs on this machine and says its
# pid), and stops the nodes, drops the database, deletes the prefix's keys
# and removes the data directories however the run ends. Needs psql, and
# redis-cli for the Redis pid and the clean-up of keys.
# Build both first: cargo build --release -p hearth -p hearth-loadtest
# (binaries are taken from $CARGO_TARGET_DIR/release if that is set).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"

nodes=2
use_redis=1
admin="${HEARTH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
redis="${HEARTH_BENCH_REDIS:-redis://127.0.0.1:6379}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --no-redis) use_redis=0; shift ;;
    --postgres) admin="$2"; shift 2 ;;
    --redis) redis="$2"; shift 2 ;;
    *) break ;;
  esac
done
if ! [[ "$nodes" =~ ^[1-9][0-9]?$ ]]; then
  echo "--nodes takes a number from 1 to 99" >&2; exit 2
fi
if [[ $use_redis -eq 0 && $nodes -ne 1 ]]; then
  echo "--no-redis runs one node: nodes without Redis do not share events" >&2; exit 2
fi
for b in hearth hearth-loadtest; do
  [[ -x "$bin/$b" ]] || { echo "$bin/$b is missing: cargo build --release -p hearth -p hearth-loadtest" >&2; exit 2; }
done
command -v psql >/dev/null || { echo "psql is needed to make the database" >&2; exit 2; }

serve_flags=()
if [[ " $* " == *" -- "* ]]; then
  while [[ $# -gt 0 && "$1" != "--" ]]; do serve_flags+=("$1"); shift; done
  shift
fi

stamp="$$_$(date +%s%N)"
db="hearth_bench_${stamp}"
prefix="hearth-bench-${stamp}:"
# The admin URL with its database replaced (any ?query kept).
base="${admin%%\?*}"
query=""
[[ "$admin" == *\?* ]] && query="?${admin#*\?}"
db_url="$(sed -E 's#^([a-z]+://[^/]+).*#\1#' <<<"$base")/${db}${query}"

work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-cluster.XXXXXX")
pids=()
made_db=0
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  if [[ $made_db -eq 1 ]]; then
    psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null \
      || echo "could not drop database $db" >&2
  fi
  if [[ $use_redis -eq 1 ]] && command -v redis-cli >/dev/null; then
    # A run leaves thousands of keys (the session journal's among them):
    # deleted in batches.
    redis-cli -u "$redis" --scan --pattern "${prefix}*" 2>/dev/null \
      | xargs -r -n 500 redis-cli -u "$redis" del >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
made_db=1

cluster_flags=(--database "$db_url")
redis_pid=
if [[ $use_redis -eq 1 ]]; then
  cluster_flags+=(--redis "$redis" --redis-prefix "$prefix")
  if command -v redis-cli >/dev/null; then
    redis_pid=$(redis-cli -u "$redis" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id:\([0-9]*\)$/\1/p')
    # Only a Redis on this machine: another host's pid means nothing here.
    if [[ -n "$redis_pid" && ! -r "/proc/$redis_pid/stat" ]]; then redis_pid=; fi
    if [[ -n "$redis_pid" ]] && ! grep -q redis "/proc/$redis_pid/comm" 2>/dev/null; then redis_pid=; fi
  fi
fi

urls=()
for k in $(seq 0 $((nodes - 1))); do
  # Made here, not by the node's redirection, which may come after the
  # first look below.
  : >"$work/node$k.out"
  "$bin/hearth" serve --rate-limits off --max-connections-per-address 0 --listen 127.0.0.1:0 \
    --data-dir "$work/node$k" "${cluster_flags[@]}" ${serve_flags[@]+"${serve_flags[@]}"} \
    >"$work/node$k.out" 2>"$work/node$k.err" &
  pid=$!
  pids+=("$pid")
  url=
  for _ in $(seq 300); do
    url=$(sed -n 's/^hearth listening on \(http:[^ ]*\).*/\1/p' "$work/node$k.out" | head -n1)
    [[ -n "$url" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/node$k.err" >&2; exit 2; }
    sleep 0.1
  done
  [[ -n "$url" ]] || { echo "node $k did not start" >&2; exit 2; }
  urls+=("$url")
  echo "node $k: pid $pid at $url" >&2
done

join() { local IFS=,; echo "$*"; }
extra=()
[[ -n "$redis_pid" ]] && extra+=(--redis-pid "$redis_pid")
if [[ $use_redis -eq 1 ]]; then bus="redis prefix $prefix${redis_pid:+ (redis pid $redis_pid)}"; else bus="no redis"; fi
echo "database $db, $bus; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

status=0
"$bin/hearth-loadtest" chat "$@" --url "$(join "${urls[@]}")" \
  --server-pid "$(join "${pids[@]}")" ${extra[@]+"${extra[@]}"} || status=$?
for k in $(seq 0 $((nodes - 1))); do
  if grep -qiE 'panic|error' "$work/node$k.err"; then
    echo "--- node $k stderr (errors and panics):" >&2
    grep -iE 'panic|error' "$work/node$k.err" | head -n 20 >&2
  fi
done
exit "$status"
