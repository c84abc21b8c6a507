#!/usr/bin/env bash
# Runs `hearth-loadtest voice` against a fresh release server and prints,
# next to the tool's report, the delay the SFU added to forwarding over the
# run: the change of the server's hearth_sfu_forward_delay_seconds
# histogram (per receive batch, from taking the datagrams off the socket to
# handing the copies to the kernel), as percentiles at bucket resolution.
#
#   loadtest/forward-delay.sh [hearth serve flags --] <hearth-loadtest voice args>
#
# Build first: cargo build --release -p hearth -p hearth-loadtest
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"

serve_flags=()
if [[ " $* " == *" -- "* ]]; then
  while [[ $# -gt 0 && "$1" != "--" ]]; do serve_flags+=("$1"); shift; done
  shift
fi

data=$(mktemp -d "${TMPDIR:-/tmp}/hearth-forward-delay.XXXXXX")
server=
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

"$bin/hearth" serve --rate-limits off --listen 127.0.0.1:0 --data-dir "$data/db" \
  ${serve_flags[@]+"${serve_flags[@]}"} >"$data/out" 2>"$data/err" &
server=$!
url=
for _ in $(seq 300); do
  url=$(sed -n 's/^hearth listening on \(http:[^ ]*\).*/\1/p' "$data/out" | head -n1)
  [[ -n "$url" ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$data/err" >&2; exit 2; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "the server did not start" >&2; exit 2; }

# Sums each bucket over the workers: "le count" lines.
buckets() {
  curl -s "$url/metrics" | awk '
    /^hearth_sfu_forward_delay_seconds_bucket/ {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      sum[le] += $NF; if (!(le in seen)) { order[n++] = le; seen[le] = 1 }
    }
    END { for (i = 0; i < n; i++) print order[i], sum[order[i]] }'
}
buckets >"$data/before"
status=0
"$bin/hearth-loadtest" voice --url "$url" --server-pid "$server" "$@" || status=$?
buckets >"$data/after"

echo "forward delay added by the SFU (per receive batch, upper bucket bounds):"
paste "$data/before" "$data/after" | awk '
  { le[NR] = $1; c[NR] = $4 - $2 }
  END {
    total = c[NR]
    if (total == 0) { print "  no batches"; exit }
    split("0.5 0.95 0.99 0.999", qs, " ")
    for (q = 1; q <= 4; q++) {
      for (i = 1; i <= NR; i++) if (c[i] >= qs[q] * total) break
      bound = le[i]; if (bound != "+Inf") bound = sprintf("%.3f ms", bound * 1000)
      printf "  p%s <= %s\n", qs[q] * 100, bound
    }
    printf "  batches %d\n", total
  }'
exit "$status"
