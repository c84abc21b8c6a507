#!/usr/bin/env bash
# Runs the voice scenario against Janus (VideoRoom, Debian's `janus`
# package) and then against Hearth, with the same client code on the same
# machine and the same network path, and prints the key figures side by
# side with their ratios.
#
#   loadtest/compare-janus.sh [hearth-loadtest voice args]
#   loadtest/compare-janus.sh --rooms 1 --publishers 1 --subscribers 50 --duration 20s
#
# Needs root (network namespaces; apt-get installs janus if it is missing).
# libnice ignores `lo`, so the servers run in one network namespace and the
# clients in another, joined by a veth pair (10.200.0.1 for the servers,
# 10.200.0.2 for the clients): every packet stays inside namespaces this
# script made, and the trap deletes them however the run ends.
# Build first: cargo build --release -p hearth -p hearth-loadtest
#
# JANUS_EVENT_LOOPS=N gives Janus a pool of N event loops (its `event_loops`
# setting) instead of its default, a loop thread per PeerConnection.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"
args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then
  args=(--rooms 1 --publishers 1 --subscribers 50 --duration 20s)
fi

[[ "$(id -u)" -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
for b in hearth hearth-loadtest; do
  [[ -x "$bin/$b" ]] || { echo "$bin/$b is missing: cargo build --release -p hearth -p hearth-loadtest" >&2; exit 2; }
done
if ! command -v janus >/dev/null 2>&1; then
  echo "== installing janus"
  env DEBIAN_FRONTEND=noninteractive apt-get install -y janus ||
    { env DEBIAN_FRONTEND=noninteractive apt-get update &&
      env DEBIAN_FRONTEND=noninteractive apt-get install -y janus; }
fi
command -v jq >/dev/null 2>&1 || env DEBIAN_FRONTEND=noninteractive apt-get install -y jq

# Where Debian's janus keeps its modules: from its own configuration.
folder() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" /etc/janus/janus.jcfg | head -n1; }
plugins=$(folder plugins_folder)
transports=$(folder transports_folder)
[[ -f "$plugins/libjanus_videoroom.so" && -f "$transports/libjanus_websockets.so" ]] ||
  { echo "janus' videoroom plugin or websockets transport not found" >&2; exit 2; }

tag=$$
sns="hearth-sfu-$tag"       # Janus, then Hearth
cns="hearth-clients-$tag"   # hearth-loadtest
sveth="hsv$tag"
cveth="hcv$tag"
sip=10.200.0.1
cip=10.200.0.2
work=$(mktemp -d "${TMPDIR:-/tmp}/compare-janus.XXXXXX")
server=
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  ip netns del "$sns" 2>/dev/null || true   # takes the veth pair with it
  ip netns del "$cns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$sns"
ip netns add "$cns"
ip link add "$sveth" netns "$sns" type veth peer name "$cveth" netns "$cns"
ip -n "$sns" addr add "$sip/24" dev "$sveth"
ip -n "$cns" addr add "$cip/24" dev "$cveth"
for ns in "$sns" "$cns"; do ip -n "$ns" link set lo up; done
ip -n "$sns" link set "$sveth" up
ip -n "$cns" link set "$cveth" up

# A minimal Janus: only the videoroom plugin and the websockets transport
# (folders holding just those two), ICE on the veth alone, no STUN.
mkdir -p "$work/etc" "$work/plugins" "$work/transports" "$work/none"
ln -s "$plugins/libjanus_videoroom.so" "$work/plugins/"
ln -s "$transports/libjanus_websockets.so" "$work/transports/"
cat >"$work/etc/janus.jcfg" <<EOF
general: {
	configs_folder = "$work/etc"
	plugins_folder = "$work/plugins"
	transports_folder = "$work/transports"
	events_folder = "$work/none"
	loggers_folder = "$work/none"
	debug_level = 3
	interface = "$sip"
	session_timeout = 60
	event_loops = ${JANUS_EVENT_LOOPS:-0}
}
media: {
	ipv6 = false
	rtp_port_range = "20000-40000"
}
nat: {
	ice_enforce_list = "$sveth"
	ignore_mdns = true
}
EOF
cat >"$work/etc/janus.plugin.videoroom.jcfg" <<EOF
general: {
}
EOF
cat >"$work/etc/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "compact"
	ws = true
	ws_port = 8188
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
EOF

wait_tcp() { # ns host port: up to 30 s
  for _ in $(seq 300); do
    ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
    kill -0 "$server" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

echo "== Janus $(janus --version 2>/dev/null | head -n1 | tr -d '\n') in $sns at $sip" >&2
ip netns exec "$sns" janus -C "$work/etc/janus.jcfg" -F "$work/etc" -o >"$work/janus.log" 2>&1 &
server=$!
wait_tcp "$cns" "$sip" 8188 || { tail -n 30 "$work/janus.log" >&2; echo "janus did not start" >&2; exit 2; }
status=0
ip netns exec "$cns" "$bin/hearth-loadtest" voice --target janus --janus-url "ws://$sip:8188" \
  --server-pid "$server" "${args[@]}" --out "$work/janus.json" || status=$?
kill "$server"; wait "$server" 2>/dev/null || true; server=
[[ -s "$work/janus.json" ]] || { grep -iE 'err|warn' "$work/janus.log" | tail -n 20 >&2; echo "the Janus run made no report" >&2; exit 2; }

echo "== Hearth in $sns at $sip" >&2
ip netns exec "$sns" "$bin/hearth" serve --rate-limits off --listen "$sip:0" --rtc-bind "$sip" \
  --data-dir "$work/db" >"$work/hearth.out" 2>"$work/hearth.err" &
server=$!
url=
for _ in $(seq 300); do
  url=$(sed -n 's/^hearth listening on \(http:[^ ]*\).*/\1/p' "$work/hearth.out" | head -n1)
  [[ -n "$url" ]] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$url" ]] || { tail -n 20 "$work/hearth.err" >&2; echo "hearth did not start" >&2; exit 2; }
ip netns exec "$cns" "$bin/hearth-loadtest" voice --url "$url" --server-pid "$server" \
  "${args[@]}" --out "$work/hearth.json" || status=$?
kill "$server"; wait "$server" 2>/dev/null || true; server=
[[ -s "$work/hearth.json" ]] || { echo "the Hearth run made no report" >&2; exit 2; }

# Side by side. CPU per packet is the server process's CPU time over the
# steady phase divided by the packets our subscribers received in it, for
# both (Janus has no counters of its own); Hearth's own count follows.
echo
echo "== Janus against Hearth: ${args[*]}"
jq -rn --slurpfile j "$work/janus.json" --slurpfile h "$work/hearth.json" '
  def per_packet(r): if (r.pps_in * r.steady_secs) > 0 and r.server.process_cpu_secs != null
    then r.server.process_cpu_secs * 1e6 / (r.pps_in * r.steady_secs) else null end;
  def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
  def ratio(a; b): if a == null or b == null or b == 0 then "-" else (a / b * 100 | round / 100 | tostring) + "×" end;
  def row(name; a; b): [name, f(a), f(b), ratio(a; b)] | @tsv;
  ($j[0]) as $J | ($h[0]) as $H |
  (["figure", "janus", "hearth", "janus/hearth"] | @tsv),
  row("joined"; $J.join.joined; $H.join.joined),
  row("packets received/s"; $J.pps_in; $H.pps_in),
  row("server CPU %"; $J.server.process_cpu_percent; $H.server.process_cpu_percent),
  row("CPU µs per packet received"; per_packet($J); per_packet($H)),
  row("hearth: CPU µs per forwarded (metrics)"; null; $H.server.process_cpu_us_per_forwarded_packet),
  row("audio loss %"; $J.audio.loss_ratio * 100; $H.audio.loss_ratio * 100),
  row("latency p50 ms"; $J.latency.p50_ms; $H.latency.p50_ms),
  row("latency p99 ms"; $J.latency.p99_ms; $H.latency.p99_ms),
  row("join → connected p50 ms"; $J.join.op4_to_connected.p50_ms; $H.join.op4_to_connected.p50_ms),
  row("server RSS end KiB"; $J.server.rss_end_kib; $H.server.rss_end_kib)
' | column -t -s $'\t'
exit "$status"
