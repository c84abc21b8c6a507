#!/usr/bin/env bash
# SFU failover time: runs the end-to-end test in which an SFU node is
# killed (kill -9) mid-call, N times (default 10), and prints each time from
# the kill to audio flowing again both ways (two webrtc-rs clients with real
# Opus, through real nodes on loopback and a real Redis), then the median
# and the maximum.
#
#   loadtest/failover.sh [N]
#   loadtest/failover.sh --rooms R [N]
#
# With --rooms, each run has R calls of two on the killed node, and prints
# each run's median and slowest call.
#
# Redis: $HEARTH_TEST_REDIS, default redis://127.0.0.1:6379. The time is
# mostly the registry's entry lifetime (5 s) and the nodes' one-second
# check; the build profile hardly matters, so the test's debug build is used.
set -euo pipefail
cd "$(dirname "$0")/.."
rooms=
if [ "${1:-}" = "--rooms" ]; then
  rooms="$2"
  shift 2
fi
runs="${1:-10}"
export HEARTH_TEST_REDIS="${HEARTH_TEST_REDIS:-redis://127.0.0.1:6379}"
if [ -n "$rooms" ]; then
  test_name='cluster_voice::many_calls_whose_sfu_node_is_killed_come_back'
  cargo nextest run --test e2e --run-ignored only "$test_name" --no-run >/dev/null 2>&1 \
    || cargo nextest run --test e2e --run-ignored only "$test_name" --no-run
  for i in $(seq 1 "$runs"); do
    line="$(HEARTH_FAILOVER_ROOMS="$rooms" cargo nextest run --test e2e --run-ignored only "$test_name" --no-capture 2>&1 \
      | grep 'calls on the killed SFU node' || true)"
    [ -n "$line" ] || { echo "run $i: the test did not finish" >&2; exit 1; }
    echo "run $i: ${line#*\] }"
  done
  exit 0
fi
test_name='cluster_voice::a_call_whose_sfu_node_is_killed_comes_back_on_another_node'
cargo nextest run --test e2e "$test_name" --no-run >/dev/null 2>&1 || cargo nextest run --test e2e "$test_name" --no-run
times=()
for i in $(seq 1 "$runs"); do
  ms="$(cargo nextest run --test e2e "$test_name" --no-capture 2>&1 \
    | sed -n 's/.*audio flowing again both ways in \([0-9]*\) ms.*/\1/p')"
  [ -n "$ms" ] || { echo "run $i: the test did not finish" >&2; exit 1; }
  echo "run $i: ${ms} ms"
  times+=("$ms")
done
printf '%s\n' "${times[@]}" | sort -n | awk '
  { t[NR] = $1 }
  END {
    median = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "failover (kill -9 to audio both ways), %d runs: p50 %d ms, max %d ms\n", NR, median, t[NR]
  }'
