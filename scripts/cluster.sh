#!/usr/bin/env bash
# Runs a whole Hearth cluster on this machine, on loopback, until Ctrl-C:
# a Redis of its own, a fresh PostgreSQL database, and N nodes sharing them.
#
#   bash scripts/cluster.sh [--nodes N] [--sfu-nodes M] [--regions LIST]
#                           [--base-port P] [--bin PATH]
#                           [--postgres ADMIN_URL] [-- hearth serve flags]
#
# Node k listens on 127.0.0.1:(P + k) (P defaults to 8081; 0 lets each node
# pick a free port). With --sfu-nodes M, the N nodes serve the API and
# gateway only (--role api) and M more serve voice only (--role sfu);
# without it every node does both. --regions eu,us puts node k in the
# k-th region of the list, round and round (default: one region). PostgreSQL is reached through ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres, or $HEARTH_CLUSTER_POSTGRES),
# where a database of this run is made and, on exit, dropped. Redis is a
# redis-server started on a free port, keeping nothing on disk. The nodes
# share a voice secret made for the run, and lease their node ids from
# Redis. The binary is target/release/hearth (built if missing) unless
# --bin names another. Everything this script started stops, and its
# database is dropped, when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3
sfu_nodes=0
regions="default"
base_port=8081
bin=""
admin="${HEARTH_CLUSTER_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
serve_flags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --sfu-nodes) sfu_nodes="$2"; shift 2 ;;
    --regions) regions="$2"; shift 2 ;;
    --base-port) base_port="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --postgres) admin="$2"; shift 2 ;;
    --) shift; serve_flags=("$@"); break ;;
    *) echo "unknown argument: $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
[[ "$nodes" =~ ^[1-9][0-9]?$ ]] || { echo "--nodes takes a number from 1 to 99" >&2; exit 2; }
[[ "$sfu_nodes" =~ ^[0-9][0-9]?$ ]] || { echo "--sfu-nodes takes a number from 0 to 99" >&2; exit 2; }
[[ "$regions" =~ ^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$ ]] || { echo "--regions takes names separated by commas" >&2; exit 2; }
IFS=, read -r -a region_list <<<"$regions"
[[ "$base_port" =~ ^[0-9]+$ ]] || { echo "--base-port takes a port number" >&2; exit 2; }
for tool in psql redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: postgresql-client, redis-server)" >&2; exit 2; }
done
if [[ -z "$bin" ]]; then
  bin="${CARGO_TARGET_DIR:-target}/release/hearth"
  [[ -x "$bin" ]] || cargo build --release -p hearth
fi
[[ -x "$bin" ]] || { echo "$bin is not an executable" >&2; exit 2; }
psql "$admin" -qAt -c 'SELECT 1' >/dev/null 2>&1 \
  || { echo "cannot reach PostgreSQL at $admin: start it, or give --postgres" >&2; exit 2; }

stamp="$$_$(date +%s)"
db="hearth_cluster_${stamp}"
base="${admin%%\?*}"
db_url="$(sed -E 's#^([a-z]+://[^/]+).*#\1#' <<<"$base")/${db}"
work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-cluster.XXXXXX")
pids=()
redis_pid=
made_db=0
cleanup() {
  trap - EXIT INT TERM
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "$redis_pid" ]]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  if [[ $made_db -eq 1 ]]; then
    psql "$admin" -qAt -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
      || echo "could not drop database $db" >&2
  fi
  rm -rf "$work"
  echo "cluster stopped" >&2
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# A free port for Redis: bind, read, release.
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)))
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { cat "$work/redis.log" >&2; echo "redis-server did not start" >&2; exit 2; }
redis="redis://127.0.0.1:$redis_port"

psql "$admin" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
made_db=1
secret=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

for k in $(seq 0 $((nodes + sfu_nodes - 1))); do
  port=0
  [[ "$base_port" -ne 0 ]] && port=$((base_port + k))
  role=all
  if [[ "$sfu_nodes" -gt 0 ]]; then
    role=api
    [[ "$k" -ge "$nodes" ]] && role=sfu
  fi
  region="${region_list[$((k % ${#region_list[@]}))]}"
  : >"$work/node$k.out"
  HEARTH_VOICE_SECRET="$secret" "$bin" serve --listen "127.0.0.1:$port" \
    --data-dir "$work/node$k" --database "$db_url" --redis "$redis" \
    --role "$role" --region "$region" \
    ${serve_flags[@]+"${serve_flags[@]}"} >"$work/node$k.out" 2>"$work/node$k.log" &
  pid=$!
  pids+=("$pid")
  url=
  for _ in $(seq 300); do
    url=$(sed -n 's/^hearth listening on \(http:[^ ]*\).*/\1/p' "$work/node$k.out" | head -n1)
    [[ -n "$url" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/node$k.log" >&2; echo "node $k exited" >&2; exit 2; }
    sleep 0.1
  done
  [[ -n "$url" ]] || { echo "node $k did not start" >&2; exit 2; }
  # Scripts and tests read these lines.
  echo "node $k at $url"
  echo "  role $role, region $region"
done
echo "redis at $redis; database $db; logs in $work; Ctrl-C stops everything"
while true; do
  for k in "${!pids[@]}"; do
    if ! kill -0 "${pids[$k]}" 2>/dev/null; then
      echo "node $k stopped; its log:" >&2
      tail -n 20 "$work/node$k.log" >&2
      exit 1
    fi
  done
  sleep 1
done
