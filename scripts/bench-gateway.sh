#!/usr/bin/env bash
# Gateway benchmarks for issue 4, in one run, side by side with core-sim's direct /ws:
#   1. steady, 1,000 sessions, full load (closed loop, each session keeps WINDOW messages in flight): direct vs gateway
#   2. steady, 1,000 sessions x 20 msg/s = 20,000 msg/s offered: FIXED_PAIRS alternating direct/gateway pairs, p99 per pair + median
#   3. connect storm, 10,000 sessions through the gateway (and direct, for reference)
#   4. idle memory: gateway RSS (and GC heap) before/after 10,000 idle sessions, per session
#   5. failover: steady load through two gateways, one killed mid-run (0 lost, 0 duplicated)
#   6. peers (issue 21): direct vs nginx vs HAProxy vs the gateway, each a fresh hop in front of a fresh core-sim,
#      2,000 sessions of which 200 ping-pong; PEER_ROUNDS interleaved rounds, medians and ranges (peers.md)
#   7. rounds (issue 21): GATEWAY_ROUNDS fresh gateway processes in a row under the same load, each with a fresh core-sim
#      (ROUNDS_CORE=shared: one for all, warmed by an uncounted round 0; ROUNDS_LG=shared: one warm load generator for
#      all, likewise; ROUNDS_PATHS="direct gateway": a control without the hop); msg/s spread, and each process's CPU
#      per message; where the two CPUs were each second (the load generator's --cross-cpu-probe) and msg/s at each
#      placement (rounds.md)
#   8. interleaved (issue 21): the same question as rounds ("is a fresh gateway process sometimes a slow one?") with the
#      machine's drift taken out: GATEWAY_ROUNDS fresh gateways started side by side (one warm core-sim, one warm load
#      generator), the load moved between them in short slices, INTERLEAVED_CYCLES times round (interleaved.md)
# Starts core-sim and gateways as Release processes on loopback (ports 27xxx/28xxx), runs the load generator,
# stops them. Every load run is bounded in count and time (<= 60 s; the interleaved part's one load generator and idle
# holders live through the part, bounded by its length). Results: $OUT/bench.md (+ each run's
# result.json, summary.md, latency.html, and comparison.html side by side).
#
#   scripts/bench-gateway.sh                 the issue-4 parts: steady fixed storm idle failover
#   scripts/bench-gateway.sh steady storm    only some parts: steady | fixed | storm | idle | failover | peers | rounds | interleaved
#   NO_BUILD=1 OUT=/tmp/b scripts/bench-gateway.sh
#   NO_BUILD=1 PORT_OFFSET=700 scripts/bench-gateway.sh peers rounds    issue 21's tables (about 12 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
PARTS=${*:-steady fixed storm idle failover}
OUT=${OUT:-$ROOT/artifacts/bench-gateway/$(date +%Y%m%d-%H%M%S)}
SESSIONS=${SESSIONS:-1000}
STORM_SESSIONS=${STORM_SESSIONS:-10000}
IDLE_SESSIONS=${IDLE_SESSIONS:-10000}
WINDOW=${WINDOW:-8}
SECONDS_STEADY=${SECONDS_STEADY:-60}   # 60 s windows: a 20 s window's p99 moved by ±2 ms run to run
WARMUP=${WARMUP:-5}
FIXED_PAIRS=${FIXED_PAIRS:-5}   # direct/gateway pairs at the first fixed rate, alternating, in the same processes
# peers and rounds (issue 21): PEER_SESSIONS sessions, PEER_ACTIVE of them in closed-loop ping-pong (window 1)
PEER_ROUNDS=${PEER_ROUNDS:-3} GATEWAY_ROUNDS=${GATEWAY_ROUNDS:-5}
KEEP_CORE=0   # rounds: one core-sim for every round (ROUNDS_CORE=shared)
KEEP_LG=0     # rounds: one warm load generator for every round's active sessions (ROUNDS_LG=shared)
PEER_PATHS=${PEER_PATHS:-direct nginx haproxy gateway}
PEER_SESSIONS=${PEER_SESSIONS:-2000} PEER_ACTIVE=${PEER_ACTIVE:-200}
PEER_SECONDS=${PEER_SECONDS:-20} PEER_WARMUP=${PEER_WARMUP:-5}   # measured seconds, after PEER_WARMUP s of sending
PEER_STEADY_AFTER=${PEER_STEADY_AFTER:-30}   # the second RSS reading, this many seconds after the idle burst
PEER_WORKERS=${PEER_WORKERS:-$(nproc)}   # nginx worker_processes and HAProxy nbthread: every core, like the gateway's thread pool
# PORT_OFFSET shifts every port, for a second bench on the same machine (a port already in use stops the bench: it
# would otherwise measure the other bench's process).
PORT_OFFSET=${PORT_OFFSET:-0}
CORE_HTTP=$((27080 + PORT_OFFSET)) CORE_BACKHAUL=$((27000 + PORT_OFFSET)) GW1=$((28080 + PORT_OFFSET)) GW2=$((28090 + PORT_OFFSET))
NGINX_PORT=$((28180 + PORT_OFFSET)) HAPROXY_PORT=$((28280 + PORT_OFFSET)) FLOOR_PORT=$((29080 + PORT_OFFSET))
# Backhaul key of every gateway of the bench (base64 of 32 random bytes), in core-sim's keyring for each relay id.
KEY=$(head -c 32 /dev/urandom | base64)
# core-sim's admin key (tokens outside Development, failover kicks, room mode's operator tokens); the load generator reads it.
export RELAY_CORE_ADMIN_KEY=${RELAY_CORE_ADMIN_KEY:-bench-core-admin-key-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MD=$OUT/bench.md

# 10,000 sockets per process (+ the backhaul and files): raise the soft limit to the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((STORM_SESSIONS + 1000)) ]; then
  echo "bench: ulimit -n is $(ulimit -n); need more than $((STORM_SESSIONS + 1000)) open files per process (raise the hard limit)" >&2
  exit 2
fi

if [[ " $PARTS " == *" interleaved "* ]] && [ "$GATEWAY_ROUNDS" -gt 9 ]; then
  echo "bench: interleaved: at most 9 gateways side by side (GATEWAY_ROUNDS=$GATEWAY_ROUNDS)" >&2; exit 2
fi
if [[ " $PARTS " == *" interleaved "* ]] && [ "${GW_TLS:-0}" = 1 ]; then
  echo "bench: interleaved: ws:// only (GW_TLS=1 is for peers and rounds)" >&2; exit 2
fi
if [ -z "${NO_BUILD:-}" ]; then
  echo "bench: building Release…"
  dotnet build Relay.sln -c Release -nologo -v quiet >/dev/null
fi
# Extra environment for each process (e.g. GW_ENV="DOTNET_gcServer=0"), and extra gateway arguments
# (GW_ARGS="--Gateway:SocketSessions=false"), and extra arguments for the load generator holding idle sessions
# (IDLE_ARGS="--heartbeat 0"), for experiments.
read -r -a GW_ENV_A <<<"${GW_ENV:-}"; read -r -a GW_ARGS_A <<<"${GW_ARGS:-}"; read -r -a CORE_ENV_A <<<"${CORE_ENV:-}"; read -r -a LOADGEN_ENV_A <<<"${LOADGEN_ENV:-}"; read -r -a IDLE_ARGS_A <<<"${IDLE_ARGS:-}"; PROBE_ARGS=()
# CPU placement, for experiments (issue 21's rounds): PIN_CORE, PIN_GW, PIN_LG are taskset CPU lists ("0", "1", "0,1").
pin() { if [ -n "$1" ]; then echo taskset -c "$1"; else echo env; fi; }
read -r -a PIN_CORE_A <<<"$(pin "${PIN_CORE:-}")"; read -r -a PIN_GW_A <<<"$(pin "${PIN_GW:-}")"; read -r -a PIN_LG_A <<<"$(pin "${PIN_LG:-}")"
LOADGEN=("${PIN_LG_A[@]}" env "${LOADGEN_ENV_A[@]}" dotnet "$ROOT/tools/Relay.LoadGen/bin/Release/net10.0/Relay.LoadGen.dll")
# GW_TLS=1 (peers and rounds): the gateway's sessions over its wss listener (port 28443 + PORT_OFFSET), a self-signed P-256 certificate
# for 127.0.0.1 that the load generator trusts through SSL_CERT_FILE; nginx and HAProxy stay plain.
# PEER_TLS=1 (peers): every hop terminates TLS, wss:// with the same certificate: the gateway as GW_TLS=1, nginx
# (`listen … ssl`, port 28143 + PORT_OFFSET) and HAProxy (`bind … ssl crt`, port 28243 + PORT_OFFSET), each with its
# distribution's OpenSSL defaults; direct stays ws:// to core-sim (which has no TLS listener).
[ "${PEER_TLS:-0}" = 1 ] && GW_TLS=1
NGINX_TLS_PORT=$((28143 + PORT_OFFSET)) HAPROXY_TLS_PORT=$((28243 + PORT_OFFSET))
BENCH_TLS_GW_ARGS=()
if [ "${GW_TLS:-0}" = 1 ]; then . scripts/bench-tls.sh; bench_tls "$OUT" $((28443 + PORT_OFFSET)); fi
RATES=${RATES:-20 5}
QUIET=(--Logging:LogLevel:Default=Warning --Logging:LogLevel:Microsoft=Warning)

declare -A PIDS=()
stop() { # stop NAME: SIGTERM, then SIGKILL after 15 s
  local pid=${PIDS[$1]:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$1]"
}
cleanup() { # the load generators' fifos closed first (fd 7: rounds, fd 8: interleaved): a load generator that was told
  # to stop goes back to its input and would wait there for an end that this shell holds
  exec 7>&- 8>&-
  for name in "${!PIDS[@]}"; do stop "$name"; done
}
trap cleanup EXIT
trap 'exit 130' INT # a trap that returns would let the script go on after Ctrl-C
trap 'exit 143' TERM

wait_http() { # wait_http URL [PID]: up to 30 s; fails at once when PID (the process that should answer) has exited
  for _ in $(seq 1 150); do
    [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || { echo "bench: the process for $1 exited; logs in $OUT" >&2; exit 1; }
    if curl -fs "$1" >/dev/null 2>&1; then
      # The answer must come from PID's own listener, not from another bench's process that took the port.
      [[ -z "${2:-}" || ! "$1" =~ :([0-9]+)/ ]] || ss -Hltnp "sport = :${BASH_REMATCH[1]}" 2>/dev/null | grep -q "pid=$2," || {
        echo "bench: port ${BASH_REMATCH[1]} answers, but not from process $2 (another bench on this machine?); set PORT_OFFSET" >&2
        exit 1
      }
      return 0
    fi
    sleep 0.2
  done
  echo "bench: $1 did not answer; logs in $OUT" >&2
  exit 1
}

port_free() { # port_free PORT…: stops the bench when something already listens on one of them
  local p
  for p in "$@"; do
    if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
      echo "bench: port $p is already in use (another bench on this machine?); set PORT_OFFSET, e.g. PORT_OFFSET=700" >&2
      exit 1
    fi
  done
}

start_core() {
  rm -f "$OUT/core-public.pem"
  port_free "$CORE_HTTP" "$CORE_BACKHAUL"
  "${PIN_CORE_A[@]}" env "${CORE_ENV_A[@]}" dotnet core-sim/bin/Release/net10.0/Relay.CoreSim.dll --CoreSim:BindAddress=127.0.0.1 --CoreSim:HttpPort=$CORE_HTTP \
    --CoreSim:BackhaulPort=$CORE_BACKHAUL --CoreSim:RelayKeys:gw-a=$KEY --CoreSim:RelayKeys:gw-b=$KEY $(for i in $(seq 1 9); do printf ' --CoreSim:RelayKeys:gw-i%s=%s' "$i" "$KEY"; done) --CoreSim:AdminKey="$RELAY_CORE_ADMIN_KEY" \
    "${QUIET[@]}" >>"$OUT/core-sim.log" 2>&1 &
  PIDS[core]=$!
  wait_http "http://127.0.0.1:$CORE_HTTP/fleet" "${PIDS[core]}"
  curl -fs "http://127.0.0.1:$CORE_HTTP/v1/public-key.pem" -o "$OUT/core-public.pem"
}

start_gateway() { # start_gateway NAME PORT [--Gateway:X=… …]
  port_free "$2"
  "${PIN_GW_A[@]}" env "${GW_ENV_A[@]}" dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll --Gateway:BindAddress=127.0.0.1 --Gateway:HttpPort="$2" \
    --Gateway:PublicKeyPath="$OUT/core-public.pem" --Gateway:Backhaul:SharedKey=$KEY \
    --Gateway:Backhaul:Endpoints:0=127.0.0.1:$CORE_BACKHAUL --Gateway:Backhaul:RelayId="$1" \
    --Gateway:MaxSessionsPerIp=$((STORM_SESSIONS + IDLE_SESSIONS)) --Gateway:MaxPreAuthConnectionsPerIp=1000 --Gateway:MessagesPerSecond=100000 --Gateway:MessageBurst=100000 \
    --Gateway:ShutdownTimeout=00:00:05 --Gateway:Health:AgentPort=-1 "${QUIET[@]}" "${@:3}" "${GW_ARGS_A[@]}" >>"$OUT/$1.log" 2>&1 &
  PIDS[$1]=$!
  wait_http "http://127.0.0.1:$2/readyz" "${PIDS[$1]}"
}

cpu_s() { # cpu_s PID: user+system CPU seconds so far
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

gw_gc() { # gw_gc: the gateway's GC collections gen0/gen1/gen2 and total pause ms, from /status
  curl -fs --max-time 2 "http://127.0.0.1:$GW1/status" 2>/dev/null | python3 -c 'import json,sys
v=json.load(sys.stdin)["health"]["signals"]["process"]["values"]; print(v["gcCollections"], v["gcPauseMsTotal"])' 2>/dev/null || echo "n/a 0"
}

gc_delta() { # gc_delta "A/B/C P0" "D/E/F P1": collections and pause between two gw_gc readings
  python3 -c 'import sys
a,b=sys.argv[1].split(),sys.argv[2].split()
if "n/a" in (a[0],b[0]): print("n/a"); sys.exit()
d=[int(y)-int(x) for x,y in zip(a[0].split("/"),b[0].split("/"))]
print(f"{d[0]}/{d[1]}/{d[2]} GCs (gen0/1/2), {float(b[1])-float(a[1]):.0f} ms paused")' "$1" "$2"
}

load() { # load NAME ARGS…: one bounded run into $OUT/NAME; records the CPU seconds core-sim and gateway used
  echo "bench: $1: ${*:2}"
  local c0 g0 l0 gc0
  c0=$(cpu_s "${PIDS[core]:-}"); g0=$(cpu_s "${PIDS[gw-a]:-}"); l0=$(cut -d' ' -f1 /proc/loadavg); gc0=$(gw_gc)
  timeout 150 "${LOADGEN[@]}" "${@:2}" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --progress off --out "$OUT/$1" >"$OUT/$1.txt" 2>&1 || {
    echo "bench: $1 exited $? (see $OUT/$1.txt)" >&2
  }
  echo "$1: core-sim CPU $(awk -v a="$c0" -v b="$(cpu_s "${PIDS[core]:-}")" 'BEGIN{printf "%.1f", b-a}') s, gateway CPU $(awk -v a="$g0" -v b="$(cpu_s "${PIDS[gw-a]:-}")" 'BEGIN{printf "%.1f", b-a}') s, $(grep -o 'Load generator CPU: [0-9.]* s in [0-9.]* s' "$OUT/$1.txt" || true); load average $l0 → $(cut -d' ' -f1 /proc/loadavg); gateway $(gc_delta "$gc0" "$(gw_gc)")" | tee -a "$OUT/cpu.txt"
  grep -E '^\| [0-9]' "$OUT/$1.txt" | head -1 || true
}

direct=ws://127.0.0.1:$CORE_HTTP/ws
gw1=ws://127.0.0.1:$GW1/ws
gw2=ws://127.0.0.1:$GW2/ws
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
GCDUMP=${DOTNET_GCDUMP:-$(command -v dotnet-gcdump || echo "$HOME/.dotnet/tools/dotnet-gcdump")}
gc_heap_bytes() { # gc_heap_bytes PID NAME: live managed heap after a full GC (dotnet-gcdump), or n/a when not installed
  [ -x "$GCDUMP" ] || { echo "n/a"; return; }
  "$GCDUMP" collect -p "$1" -o "$OUT/$2.gcdump" >/dev/null 2>&1 || { echo "n/a"; return; }
  "$GCDUMP" report "$OUT/$2.gcdump" >"$OUT/$2.gcdump.txt" 2>/dev/null || { echo "n/a"; return; }
  awk '/GC Heap bytes/ {gsub(",", "", $1); print $1; exit}' "$OUT/$2.gcdump.txt"
}

idle_hold() { # idle_hold NAME URL SESSIONS SECONDS: idle sessions held in the background; waits until all are connected
  rm -f "$OUT/$1.ready"
  timeout $(($4 > 180 ? $4 + 120 : 300)) "${LOADGEN[@]}" idle --url "$2" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions "$3" \
    --seconds "$4" --connect-concurrency 200 --ready-file "$OUT/$1.ready" --progress off --out "$OUT/$1" "${IDLE_ARGS_A[@]}" >"$OUT/$1.txt" 2>&1 &
  IDLE_PID=$!; PIDS[hold-$1]=$IDLE_PID # stopped on exit even while it connects; the caller stops it by that name
  for _ in $(seq 1 1200); do [ -s "$OUT/$1.ready" ] && break; sleep 0.1; done
  IDLE_N=$(cat "$OUT/$1.ready" 2>/dev/null || echo 0)
}

measure_idle() { # measure_idle LABEL PID URL: what one more idle session costs PID, between 20 % and 100 % of $IDLE_SESSIONS
  # Marginal cost, in steady state: RSS with N1 = IDLE_SESSIONS/5 sessions and with IDLE_SESSIONS, each measured
  # 45 s after its connect burst (the gateway's idle trim, Gateway:IdleMemoryTrimAfter = 30 s, has run by then; the
  # floor has none); per session = difference / (IDLE_SESSIONS - N1). The same at +10 s (before any trim) is shown too.
  local label=$1 pid=$2 url=$3 before rss1 rss10 rss45 heap_during heap_closed n1 n2 lg1 lg2
  local first=$((IDLE_SESSIONS / 5)) second=$((IDLE_SESSIONS - IDLE_SESSIONS / 5))
  timeout 60 "${LOADGEN[@]}" idle --seconds 1 --url "$url" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions 200 --progress off --out "$OUT/idle-warm-$label" >/dev/null 2>&1 || true
  sleep 3
  before=$(rss_kib "$pid")
  echo "bench: idle-$label: $first idle sessions, then $second more"
  idle_hold "idle-$label-1" "$url" "$first" 150; lg1=$IDLE_PID; n1=$IDLE_N
  sleep 45
  rss1=$(rss_kib "$pid")
  idle_hold "idle-$label-2" "$url" "$second" 70; lg2=$IDLE_PID; n2=$IDLE_N
  [ "$n2" -gt 0 ] || n2=1
  sleep 10
  rss10=$(rss_kib "$pid")
  sleep 35
  rss45=$(rss_kib "$pid")
  # The GC heap last: dotnet-gcdump's EventPipe session leaves its buffers in the process (tens of MB of RSS).
  heap_during=$(gc_heap_bytes "$pid" "$label-during")
  stop "hold-idle-$label-1"; stop "hold-idle-$label-2"
  sleep 5
  heap_closed=$(gc_heap_bytes "$pid" "$label-closed")
  local heap_per="n/a"
  if [[ "$heap_closed" =~ ^[0-9]+$ && "$heap_during" =~ ^[0-9]+$ ]]; then
    heap_per="$(( (heap_during - heap_closed) / (n1 + n2) )) B"
    # Which types: managed objects per idle session, largest first.
    python3 scripts/gcdump-diff.py "$OUT/$label-closed.gcdump.txt" "$OUT/$label-during.gcdump.txt" $((n1 + n2)) 45 >"$OUT/idle-heap-$label.txt" 2>/dev/null || true
  fi
  echo "| $label | $n1 + $n2 | $before KiB | $rss1 KiB | $rss10 KiB | $(( (rss10 - rss1) * 1024 / n2 )) B | $rss45 KiB | **$(( (rss45 - rss1) * 1024 / n2 )) B** | $(( (rss45 - before) * 1024 / (n1 + n2) )) B | $heap_per |" >>"$OUT/idle-rows.md"
  tail -n 1 "$OUT/idle-rows.md"
}

{
  echo "# Gateway benchmarks ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
  echo "$(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), .NET $(dotnet --version). Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Everything on loopback on this machine: core-sim, gateway(s) and the load generator share the cores."
  echo
} >"$MD"

if [[ " $PARTS " =~ \ (steady|fixed|storm|idle|failover)\  ]]; then
  start_core
  start_gateway gw-a $GW1
fi

if [[ " $PARTS " == *" steady "* ]]; then
  # Full load: closed loop, every session keeps $WINDOW messages unacknowledged; the first $WARMUP s are not measured.
  for target in direct gateway; do
    url=$direct; [ $target = gateway ] && url=$gw1
    load "steady-max-$target" steady --url "$url" --sessions "$SESSIONS" --rate max --window "$WINDOW" --seconds "$SECONDS_STEADY" --warmup "$WARMUP"
  done
fi

if [[ " $PARTS " == *" fixed "* ]]; then
  # The issue's fixed offered load (1,000 x 20/s = 20,000 msg/s), and a lighter one (1,000 x 5/s) to show where the
  # gateway's added latency comes from (CPU queueing on 2 shared cores, not the path itself).
  # The first rate runs FIXED_PAIRS alternating pairs (direct, gateway, direct, …) in the same processes: one 20 s
  # window's p99 moves by ±1 ms with whichever process happens to collect or be descheduled in it, so each pair's
  # difference and their median are reported (fixed-pairs.md).
  pairs=$FIXED_PAIRS
  for rate in $RATES; do
    for pair in $(seq 1 "$pairs"); do
      suffix=""; [ "$pair" -gt 1 ] && suffix="-$pair"
      for target in direct gateway; do
        url=$direct; [ $target = gateway ] && url=$gw1
        load "steady-$((rate * SESSIONS / 1000))k-$target$suffix" steady --url "$url" --sessions "$SESSIONS" --rate "$rate" --seconds "$SECONDS_STEADY" --warmup "$WARMUP"
      done
    done
    python3 - "$OUT" "$((rate * SESSIONS / 1000))k" "$pairs" >>"$OUT/fixed-pairs.md" <<'PY'
import json, statistics, sys
out, label, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows, diffs = [], []
for i in range(1, pairs + 1):
    suffix = "" if i == 1 else f"-{i}"
    try:
        d = json.load(open(f"{out}/steady-{label}-direct{suffix}/result.json"))["latencyMs"]
        g = json.load(open(f"{out}/steady-{label}-gateway{suffix}/result.json"))["latencyMs"]
    except (OSError, KeyError, ValueError):
        continue
    diffs.append(g["p99"] - d["p99"])
    rows.append(f"| {i} | {d['p50']} / {d['p90']} / {d['p99']} / {d['p999']} | {g['p50']} / {g['p90']} / {g['p99']} / {g['p999']} | {g['p99'] - d['p99']:+.2f} ms |")
if rows:
    print(f"### {label} msg/s offered: {len(rows)} alternating pair(s), same processes\n")
    print("| pair | direct p50 / p90 / p99 / p99.9 ms | gateway p50 / p90 / p99 / p99.9 ms | gateway p99 − direct p99 |")
    print("|---:|---|---|---:|")
    print("\n".join(rows))
    print(f"\nMedian of the pairs' p99 differences: **{statistics.median(diffs):+.2f} ms** (each: {', '.join(f'{x:+.2f}' for x in diffs)}).\n")
PY
    pairs=1
  done
  [ -f "$OUT/fixed-pairs.md" ] && cat "$OUT/fixed-pairs.md" >>"$MD"
fi

if [[ " $PARTS " == *" storm "* ]]; then
  for target in gateway direct; do
    url=$direct; [ $target = gateway ] && url=$gw1
    load "storm-$target" connect-storm --url "$url" --sessions "$STORM_SESSIONS" --connect-concurrency 200
  done
fi

if [[ " $PARTS " == *" idle "* ]]; then
  # A fresh gateway, warmed with a small run, so "before" is a running gateway, not a cold process. Then the floor:
  # a bare Kestrel websocket server with the same listener and websocket options (bench/Relay.Benchmarks kestrel-floor).
  rm -f "$OUT/idle-rows.md"
  stop gw-a
  start_gateway gw-a $GW1
  measure_idle gateway "${PIDS[gw-a]}" "$gw1"
  port_free "$FLOOR_PORT"
  DOTNET_gcServer=1 dotnet bench/Relay.Benchmarks/bin/Release/net10.0/Relay.Benchmarks.dll kestrel-floor --port "$FLOOR_PORT" >>"$OUT/kestrel-floor.log" 2>&1 &
  PIDS[floor]=$!
  for _ in $(seq 1 100); do grep -q kestrel-floor "$OUT/kestrel-floor.log" 2>/dev/null && break; sleep 0.2; done
  measure_idle kestrel-floor "${PIDS[floor]}" "ws://127.0.0.1:$FLOOR_PORT/ws"
  stop floor
  # The same gateway with every upgrade through ASP.NET Core (no connection fast path): what the fast path saves.
  stop gw-a
  start_gateway gw-a $GW1 --Gateway:FastUpgrade=false
  measure_idle gateway-FastUpgrade-false "${PIDS[gw-a]}" "$gw1"
  {
    echo "## Idle memory per session (RSS from /proc/PID/status; GC heap from dotnet-gcdump, sessions open minus after they closed)"
    echo
    echo "| process | sessions | RSS before | with N1, +45 s | with all, +10 s | per session at +10 s | with all, +45 s | **per session** | (all - before) / all | GC heap per session |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    cat "$OUT/idle-rows.md"
    echo
    echo "Per session: RSS with all sessions minus RSS with the first 20 %, over the other 80 % (the marginal cost of an idle"
    echo "session; fixed costs cancel), each 45 s after its connect burst, when the gateway's idle trim (one aggressive GC once"
    echo "the process has been quiet 30 s after a burst) has run; the floor has no trim. At +10 s: before any trim."
    echo "kestrel-floor: ASP.NET Core's websocket path alone (same listener,"
    echo "keep-alive 15 s/30 s, zero-byte reads), no token, no stream."
    echo
  } >>"$MD"
fi

if [[ " $PARTS " == *" failover "* ]]; then
  start_gateway gw-b $GW2
  echo "bench: failover: steady through two gateways, gw-a killed (SIGKILL) after 8 s"
  timeout 150 "${LOADGEN[@]}" steady --url "$gw1" --url "$gw2" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions "$SESSIONS" \
    --rate 10 --seconds 20 --progress off --out "$OUT/failover-kill" >"$OUT/failover-kill.txt" 2>&1 &
  fpid=$!
  sleep 8
  kill -9 "${PIDS[gw-a]}"; wait "${PIDS[gw-a]}" 2>/dev/null || true; unset "PIDS[gw-a]"
  wait "$fpid" || echo "bench: failover run exited non-zero (something lost, duplicated or reordered)" >&2
  grep -E '^\| [0-9]' "$OUT/failover-kill.txt" | head -1 || true
fi

# --- peers and rounds (issue 21) -------------------------------------------------------------------------------------
# One measurement = fresh processes: a core-sim, then the hop (none, nginx, HAProxy or the gateway), a 100-session warm-up,
# an idle burst of PEER_SESSIONS - PEER_ACTIVE sessions (RSS 1 s after it), then PEER_ACTIVE sessions in closed-loop
# ping-pong (window 1: each sends its next message when the previous one is acknowledged) for PEER_WARMUP + PEER_SECONDS s.
# CPU (utime + stime from /proc/PID/stat, the hop's children included: nginx's workers) over the measured window,
# divided by the echoes received in it. RSS again PEER_STEADY_AFTER s after the idle burst, the active run over.
tree_pids() { # tree_pids PID: the process and its children (nginx: master and workers)
  [ -n "${1:-}" ] && [ -d "/proc/$1" ] || return 0
  echo "$1"; cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$' || true
}
tree_cpu() { # tree_cpu PID: user+system CPU seconds of the process tree (0 for none), one read of every /proc/PID/stat
  local stats=() p
  for p in $(tree_pids "${1:-}"); do stats+=("/proc/$p/stat"); done
  [ ${#stats[@]} -gt 0 ] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); s += $12 + $13 } END { printf "%.2f", s / hz }' "${stats[@]}" 2>/dev/null || echo 0
}
tree_rss() { # tree_rss PID: VmRSS KiB summed over the process tree (0 for none)
  local total=0 p r
  for p in $(tree_pids "${1:-}"); do r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); total=$((total + ${r:-0})); done
  echo "$total"
}

start_nginx() { # nginx 1.22 (Debian nginx-light) in the foreground, its prefix, config, pid and logs under $OUT/nginx
  local dir=$OUT/nginx
  mkdir -p "$dir/logs" "$dir/tmp"
  cat >"$dir/nginx.conf" <<NGINX
worker_processes $PEER_WORKERS;
worker_rlimit_nofile 16384;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
$(if [ "${PEER_TLS:-0}" = 1 ]; then printf '    listen 127.0.0.1:%s ssl backlog=4096;\n    ssl_certificate %s;\n    ssl_certificate_key %s;\n' "$NGINX_TLS_PORT" "$OUT/tls-cert.pem" "$OUT/tls-key.pem"; fi)
    location / {
      proxy_pass http://127.0.0.1:$CORE_HTTP;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
NGINX
  port_free "$NGINX_PORT"
  nginx -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" -g 'daemon off;' >>"$dir/logs/stdout.log" 2>&1 &
  PIDS[nginx]=$!
  wait_http "http://127.0.0.1:$NGINX_PORT/fleet" "${PIDS[nginx]}"
}

start_haproxy() { # HAProxy 2.6 (Debian) in the foreground (-db), config under $OUT/haproxy
  local dir=$OUT/haproxy
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<HAPROXY
global
  maxconn 6000
  nbthread $PEER_WORKERS
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
frontend ws
  bind 127.0.0.1:$HAPROXY_PORT
$(if [ "${PEER_TLS:-0}" = 1 ]; then cat "$OUT/tls-cert.pem" "$OUT/tls-key.pem" >"$dir/tls.pem"; printf '  bind 127.0.0.1:%s ssl crt %s\n' "$HAPROXY_TLS_PORT" "$dir/tls.pem"; fi)
  default_backend core
backend core
  server core 127.0.0.1:$CORE_HTTP
HAPROXY
  port_free "$HAPROXY_PORT"
  haproxy -db -f "$dir/haproxy.cfg" >>"$dir/haproxy.log" 2>&1 &
  PIDS[haproxy]=$!
  wait_http "http://127.0.0.1:$HAPROXY_PORT/fleet" "${PIDS[haproxy]}"
}

shared_lg() { # the rounds' one load generator (KEEP_LG=1): started once, a run per line written to fd 7 (--rounds-from-stdin)
  if [ -n "${PIDS[shared-lg]:-}" ] && kill -0 "${PIDS[shared-lg]}" 2>/dev/null; then return 0; fi
  rm -f "$OUT/shared-lg.in"; mkfifo "$OUT/shared-lg.in"
  timeout $(((GATEWAY_ROUNDS + 2) * (PEER_WARMUP + PEER_SECONDS + 120))) "${LOADGEN[@]}" steady --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" \
    --sessions "$PEER_ACTIVE" --rate max --window 1 --seconds $((PEER_WARMUP + PEER_SECONDS)) --warmup "$PEER_WARMUP" --progress off \
    "${PROBE_ARGS[@]}" --rounds-from-stdin <"$OUT/shared-lg.in" >"$OUT/shared-lg.txt" 2>&1 &
  PIDS[shared-lg]=$!
  exec 7>"$OUT/shared-lg.in"
}
shared_lg_end() { # end of input: the shared load generator exits after its last run
  [ -n "${PIDS[shared-lg]:-}" ] || return 0
  exec 7>&-
  wait "${PIDS[shared-lg]}" 2>/dev/null || echo "bench: the shared load generator exited non-zero (see $OUT/shared-lg.txt)" >&2
  unset "PIDS[shared-lg]"
}

peer_run() { # peer_run LABEL PATH ROUND: one measurement with fresh processes; a row in $OUT/peers-runs.tsv
  local label=$1 path=$2 round=$3 url hop="" name="" lgi lga t0 t1 c0 c1 h0 h1 rb r1 rs cb c1r cs idle_n burst started load1 speed0 speed1 fresh_core=1
  if [ "$KEEP_CORE" = 1 ] && [ -n "${PIDS[core]:-}" ] && kill -0 "${PIDS[core]}" 2>/dev/null; then fresh_core=0; else stop core; fi
  speed0=$(machine_speed)
  if [ "$fresh_core" = 1 ]; then start_core; fi
  case $path in
    direct) url=$direct ;;
    nginx) start_nginx; name=nginx; url=ws://127.0.0.1:$NGINX_PORT/ws; [ "${PEER_TLS:-0}" = 1 ] && url=wss://127.0.0.1:$NGINX_TLS_PORT/ws ;;
    haproxy) start_haproxy; name=haproxy; url=ws://127.0.0.1:$HAPROXY_PORT/ws; [ "${PEER_TLS:-0}" = 1 ] && url=wss://127.0.0.1:$HAPROXY_TLS_PORT/ws ;;
    gateway) start_gateway gw-a $GW1 "${BENCH_TLS_GW_ARGS[@]}"; name=gw-a; url=$gw1; [ "${GW_TLS:-0}" = 1 ] && url=wss://127.0.0.1:$((28443 + PORT_OFFSET))/ws ;;
  esac
  [ -n "$name" ] && hop=${PIDS[$name]}
  echo "bench: $label: $path, round $round"
  # Warm-up: 100 sessions connect and close (JIT, pools), so the baseline is a running process, not a cold one.
  timeout 60 "${LOADGEN[@]}" idle --seconds 1 --url "$url" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions 100 --progress off --out "$OUT/$label-warm" >"$OUT/$label-warm.txt" 2>&1 || true
  sleep 2
  rb=$(tree_rss "$hop"); cb=$(tree_rss "${PIDS[core]}")
  idle_hold "$label-idle" "$url" $((PEER_SESSIONS - PEER_ACTIVE)) $((PEER_STEADY_AFTER + 60)); idle_n=$IDLE_N
  burst=$(date +%s.%N)
  sleep 1
  r1=$(tree_rss "$hop"); c1r=$(tree_rss "${PIDS[core]}")
  rm -f "$OUT/$label.ready"
  if [ "$KEEP_LG" = 1 ]; then
    shared_lg
    lga=${PIDS[shared-lg]}
    echo "$url $OUT/$label $OUT/$label.ready" >&7
  else
    timeout 120 "${LOADGEN[@]}" steady --url "$url" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions "$PEER_ACTIVE" --rate max --window 1 \
      --seconds $((PEER_WARMUP + PEER_SECONDS)) --warmup "$PEER_WARMUP" --ready-file "$OUT/$label.ready" --progress off --out "$OUT/$label" "${PROBE_ARGS[@]}" >"$OUT/$label.txt" 2>&1 &
    lga=$!; PIDS[active-lg]=$lga
  fi
  for _ in $(seq 1 600); do [ -s "$OUT/$label.ready" ] || ! kill -0 "$lga" 2>/dev/null && break; sleep 0.1; done
  started=$(date +%s.%N)
  sleep "$PEER_WARMUP"
  t0=$(date +%s.%N); h0=$(tree_cpu "$hop"); c0=$(tree_cpu "${PIDS[core]}"); g0=$(tree_cpu "$lga"); load1=$(cut -d' ' -f1 /proc/loadavg)
  # The load generator's own CPU is read 1 s before the window ends (it exits at the end): over its own window, at the run's rate.
  sleep "$((PEER_SECONDS - 1))"; tg=$(date +%s.%N); g1=$(tree_cpu "$lga"); sleep 1
  t1=$(date +%s.%N); h1=$(tree_cpu "$hop"); c1=$(tree_cpu "${PIDS[core]}")
  if [ "$KEEP_LG" = 1 ]; then
    for _ in $(seq 1 1200); do grep -Fqx "done $OUT/$label" "$OUT/shared-lg.txt" 2>/dev/null || ! kill -0 "$lga" 2>/dev/null && break; sleep 0.1; done
  else
    wait "$lga" || echo "bench: $label: load generator exited non-zero (see $OUT/$label.txt)" >&2
    unset "PIDS[active-lg]"
  fi
  # The steady-state reading: PEER_STEADY_AFTER s after the idle burst, at least 1 s after the active sessions closed.
  sleep "$(awk -v b="$burst" -v n="$(date +%s.%N)" -v a="$PEER_STEADY_AFTER" 'BEGIN{w=b+a-n; printf "%.1f", (w < 1 ? 1 : w)}')"
  rs=$(tree_rss "$hop"); cs=$(tree_rss "${PIDS[core]}")
  stop "hold-$label-idle"
  [ -n "$name" ] && stop "$name"
  [ "$KEEP_CORE" = 1 ] || stop core
  speed1=$(machine_speed)
  python3 - "$OUT/$label/result.json" "$label" "$path" "$round" "$t0" "$t1" "$h0" "$h1" "$c0" "$c1" "$idle_n" "$rb" "$r1" "$rs" "$cb" "$c1r" "$cs" "$hop" "$started" "$burst" "$load1" "$speed0" "$speed1" "$g0" "$g1" "$tg" >>"$OUT/peers-runs.tsv" <<'PY'
import json, sys
f, label, path, rnd, t0, t1, h0, h1, c0, c1, idle, rb, r1, rs, cb, c1r, cs, hop, started, burst, load1, speed0, speed1, g0, g1, tg = sys.argv[1:]
try:
    r = json.load(open(f))
except (OSError, ValueError):
    print(f"{label}\t{path}\t{rnd}\tfailed"); sys.exit()
window = float(t1) - float(t0)
msgs = r["messagesPerSecond"] * window
idle = max(int(idle), 1)
hop_us = (float(h1) - float(h0)) * 1e6 / msgs if hop and msgs else float("nan")
core_us = (float(c1) - float(c0)) * 1e6 / msgs if msgs else float("nan")
lg_msgs = r["messagesPerSecond"] * (float(tg) - float(t0))
lg_us = (float(g1) - float(g0)) * 1e6 / lg_msgs if lg_msgs else float("nan")  # the load generator's own CPU per message
kib = lambda a, b: (int(b) - int(a)) / idle if hop else float("nan")
print("\t".join(str(x) for x in [label, path, rnd, r["messagesPerSecond"], r["latencyMs"]["p50"], r["latencyMs"]["p99"], round(hop_us, 2), round(core_us, 2),
      round(kib(rb, r1), 2), round(kib(rb, rs), 2), round((int(c1r) - int(cb)) / idle, 2), round((int(cs) - int(cb)) / idle, 2), idle, round(window, 2),
      r["lost"], r["duplicated"], r["outOfOrder"], r["connected"], round(float(started) - float(burst), 1), load1, speed0, speed1, round(lg_us, 2)]))
PY
  tail -n 1 "$OUT/peers-runs.tsv"
}

peers_header() {
  [ -s "$OUT/peers-runs.tsv" ] || printf 'label\tpath\tround\tmsg_s\tp50_ms\tp99_ms\thop_us_msg\tcore_us_msg\thop_kib_idle_1s\thop_kib_idle_steady\tcore_kib_idle_1s\tcore_kib_idle_steady\tidle_sessions\twindow_s\tlost\tduplicated\tout_of_order\tactive_connected\tactive_start_after_burst_s\tload_average\tmachine_mb_s_before\tmachine_mb_s_after\tloadgen_us_msg\n' >"$OUT/peers-runs.tsv"
}

# The machine's own speed, as a yardstick beside each run (issue 21's rounds): SHA-256 over 256 MiB (OpenSSL through
# Python's hashlib), best of three, MB/s; "ONE/BOTH": one core alone, then both cores at once (the sum). Nothing of
# Relay's runs while it does. On a VM whose host is busy, or whose two vCPUs share a physical core, this moves, and every
# process's CPU per message with it.
machine_speed() {
  local hash='import hashlib, time
buf = bytes(64 << 20); best = 0.0
for _ in range(3):
    t = time.perf_counter()
    for _ in range(4): hashlib.sha256(buf).digest()
    best = max(best, 256 * 1.048576 / (time.perf_counter() - t))
print(round(best))' one a b
  one=$(python3 -c "$hash")
  a=$(mktemp); b=$(mktemp)
  python3 -c "$hash" >"$a" & local p1=$!
  python3 -c "$hash" >"$b" & local p2=$!
  wait "$p1" "$p2"
  echo "$one/$(( $(cat "$a") + $(cat "$b") ))"
  rm -f "$a" "$b"
}

if [[ " $PARTS " =~ \ (peers|rounds|interleaved)\  ]]; then
  stop gw-b; stop gw-a; stop core
  if [[ " $PARTS " == *" peers "* ]]; then
    scripts/install-nginx.sh; scripts/install-haproxy.sh
  fi
  peers_header
fi

if [[ " $PARTS " == *" peers "* ]]; then
  read -r -a paths <<<"$PEER_PATHS"
  for p in "${!paths[@]}"; do
    case ${paths[$p]} in
      nginx|haproxy) command -v "${paths[$p]}" >/dev/null 2>&1 || { echo "bench: peers: ${paths[$p]} is not installed; its rows are skipped" >&2; unset "paths[$p]"; } ;;
    esac
  done
  paths=("${paths[@]}")
  # Interleaved: each round starts one path later (round 1: direct nginx haproxy gateway; round 2: nginx haproxy gateway direct; …).
  for round in $(seq 1 "$PEER_ROUNDS"); do
    for i in $(seq 0 $((${#paths[@]} - 1))); do
      path=${paths[$(( (i + round - 1) % ${#paths[@]} ))]}
      peer_run "peers-$path-$round" "$path" "$round"
    done
  done
  python3 - "$OUT/peers-runs.tsv" "$PEER_PATHS" >"$OUT/peers.md" <<'PY'
import csv, math, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["label"].startswith("peers-") and r.get("msg_s") not in (None, "failed")]
order = sys.argv[2].split()
direct = {r["round"]: r for r in rows if r["path"] == "direct"}
def fmt(vals, digits=1, suffix=""):
    vals = [v for v in vals if not math.isnan(v)]
    if not vals: return "—"
    m, lo, hi = statistics.median(vals), min(vals), max(vals)
    f = lambda x: f"{x:,.{digits}f}"
    return f"**{f(m)}**{suffix} ({f(lo)}–{f(hi)})" if len(vals) > 1 else f"{f(m)}{suffix}"
num = lambda r, k: float(r[k]) if r[k] not in ("", "nan") else float("nan")
print("| path | rounds | msg/s | % of direct | RTT p50 ms | RTT p99 ms | hop CPU µs/msg | core-sim CPU µs/msg | total server CPU vs direct | hop KiB / idle session, 1 s after the burst | hop KiB / idle session, steady |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for path in order:
    rs = [r for r in rows if r["path"] == path]
    if not rs: continue
    pct, total = [], []
    for r in rs:
        d = direct.get(r["round"])
        if d is None: continue
        pct.append(100 * num(r, "msg_s") / num(d, "msg_s"))
        hop = num(r, "hop_us_msg"); hop = 0 if math.isnan(hop) else hop
        total.append((hop + num(r, "core_us_msg")) / num(d, "core_us_msg"))
    rel = lambda vals, digits, suffix: fmt(vals, digits, suffix) if path != "direct" else f"100{suffix}" if suffix == " %" else f"1.00{suffix}"
    print(f"| {path} | {len(rs)} | {fmt([num(r, 'msg_s') for r in rs], 0)} | {rel(pct, 0, ' %')} | {fmt([num(r, 'p50_ms') for r in rs], 2)} | {fmt([num(r, 'p99_ms') for r in rs], 2)} | "
          f"{fmt([num(r, 'hop_us_msg') for r in rs])} | {fmt([num(r, 'core_us_msg') for r in rs])} | {rel(total, 2, '×')} | "
          f"{fmt([num(r, 'hop_kib_idle_1s') for r in rs])} | {fmt([num(r, 'hop_kib_idle_steady') for r in rs])} |")
lost = sum(int(r["lost"]) + int(r["duplicated"]) + int(r["out_of_order"]) for r in rows)
loads = [float(r["load_average"]) for r in rows]
print(f"\nMedian **bold**, (min–max) over the rounds; % of direct and total CPU are per round against that round's direct run. Lost + duplicated + out of order over all runs: {lost}. "
      f"1-minute load average at the measured windows: {min(loads):.1f}–{max(loads):.1f}.")
PY
  {
    echo "## Peers (issue 21): direct vs nginx vs HAProxy vs the gateway"
    echo
    echo "$PEER_ROUNDS interleaved rounds; each run: fresh core-sim and hop, $((PEER_SESSIONS - PEER_ACTIVE)) idle + $PEER_ACTIVE closed-loop ping-pong sessions (window 1), $PEER_WARMUP s warm-up + $PEER_SECONDS s measured; nginx worker_processes $PEER_WORKERS, HAProxy nbthread $PEER_WORKERS.$([ "${PEER_TLS:-0}" = 1 ] && echo " Sessions over wss:// (PEER_TLS=1): every hop terminates TLS with the same self-signed P-256 certificate; direct is ws:// to core-sim." || { [ "${GW_TLS:-0}" = 1 ] && echo " The gateway's sessions over wss:// (GW_TLS=1); the other paths ws://."; })"
    echo
    cat "$OUT/peers.md"
    echo
  } >>"$MD"
  cat "$OUT/peers.md"
fi

if [[ " $PARTS " == *" rounds "* ]]; then
  # The issue's "no bimodal runs" check: the same measurement as the peers' gateway row, GATEWAY_ROUNDS fresh gateways
  # in a row, each with a fresh core-sim too, as in the peers' runs. ROUNDS_CORE=shared: one core-sim serves every
  # round, warmed first by one gateway round that is not counted (round 0: a fresh core-sim's first 20-30 s are
  # slower), so what moves between the counted rounds is the gateway and the load generator (fresh as ever).
  # ROUNDS_PATHS="direct gateway": a control without the hop, interleaved.
  # ROUNDS_LG=shared: one load generator process for every round's active sessions (--rounds-from-stdin), warmed by
  # round 0 as well, so that only the gateway (and core-sim, unless shared too) is fresh in each counted round.
  # The active load generator measures where the machine's two CPUs are, each second (--cross-cpu-probe): on a VM the
  # hypervisor moves the vCPUs between a placement that shares a cache and one that does not, and the closed loop runs
  # a quarter slower in the second (bench/README.md, "Rounds: the two speeds are the two placements of the vCPUs").
  PROBE_ARGS=(--cross-cpu-probe)
  [ "${ROUNDS_LG:-fresh}" = shared ] && KEEP_LG=1
  if [ "${ROUNDS_CORE:-fresh}" = shared ] || [ "$KEEP_LG" = 1 ]; then
    [ "${ROUNDS_CORE:-fresh}" = shared ] && KEEP_CORE=1
    for path in ${ROUNDS_PATHS:-gateway}; do
      peer_run "warmup-$path-0" "$path" 0
    done
  fi
  for round in $(seq 1 "$GATEWAY_ROUNDS"); do
    for path in ${ROUNDS_PATHS:-gateway}; do
      peer_run "rounds-$path-$round" "$path" "$round"
    done
  done
  KEEP_CORE=0; stop core
  shared_lg_end; KEEP_LG=0; PROBE_ARGS=()
  python3 - "$OUT/peers-runs.tsv" "$OUT" >"$OUT/rounds.md" <<'PY'
import csv, json, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["label"].startswith("rounds-") and r.get("msg_s") not in (None, "failed")]
if not rows:
    print("No rounds completed."); sys.exit()
def speeds(r):
    out = []
    for k in ("machine_mb_s_before", "machine_mb_s_after"):
        try:
            one, both = (r.get(k) or "").split("/") if "/" in (r.get(k) or "") else (r[k], "nan")
            out.append((float(one), float(both)))
        except (KeyError, TypeError, ValueError):
            out.append((float("nan"), float("nan")))
    return out
def spread(v):
    m = statistics.median(v)
    return m, max(max(v) - m, m - min(v)) / m * 100
def lg(r):
    try:
        return float(r.get("loadgen_us_msg") or "nan")
    except ValueError:
        return float("nan")
def f1(x):
    return "—" if x != x else f"{x:.1f}"
def per_second(r):
    # The measured seconds of a round from its load generator's timeline: (msg/s, cross-CPU round trip ns or 0).
    try:
        d = json.load(open(f"{sys.argv[2]}/{r['label']}/result.json"))
    except (OSError, ValueError):
        return []
    tl, start = d.get("timeline") or [], d.get("connectSeconds", 0) + d.get("warmupSeconds", 0)
    return [((b["received"] - a["received"]) / (b["seconds"] - a["seconds"]), b.get("crossCpuNs", 0))
            for a, b in zip(tl, tl[1:]) if (a["seconds"] + b["seconds"]) / 2 >= start and b["seconds"] > a["seconds"]]  # most of the second in the window
secs = {r["label"]: per_second(r) for r in rows}
probed = [ns for v in secs.values() for _, ns in v if ns > 0]
# Two placements of the two CPUs: "near" within 1.35x of the 10th percentile of the seconds' round trips (on issue
# 21's VMs about 110 ns against 210 ns far apart; a machine whose CPUs never move has only near seconds).
near_max = sorted(probed)[len(probed) // 10] * 1.35 if probed else None
def placement(r):
    # A second counts at a placement when its neighbours in the round were there too: a second in which the vCPUs
    # moved is partly both.
    v = [(m, ns) for m, ns in secs.get(r["label"], []) if ns > 0]
    at = [ns <= near_max for _, ns in v]
    settled = [all(at[j] == at[i] for j in (i - 1, i + 1) if 0 <= j < len(v)) for i in range(len(v))]
    near = [m for (m, _), a, s in zip(v, at, settled) if a and s]
    far = [m for (m, _), a, s in zip(v, at, settled) if not a and s]
    mean = lambda x: sum(x) / len(x) if x else float("nan")
    return len(v), len(far), mean(near), mean(far), len(near)
for path in dict.fromkeys(r["path"] for r in rows):
    mine = [r for r in rows if r["path"] == path]
    hop = path != "direct"
    print(f"\n{'Fresh gateway' if hop else 'Control: direct to core-sim (no hop)'}, {len(mine)} rounds:\n")
    print("| round | msg/s | RTT p50 ms | RTT p99 ms | hop CPU µs/msg | core-sim CPU µs/msg | load generator CPU µs/msg | hop ÷ core-sim CPU per msg | machine: SHA-256 MB/s one core / both cores, before · after | load average |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in mine:
        (o0, b0), (o1, b1) = speeds(r)
        ratio = float(r["hop_us_msg"]) / float(r["core_us_msg"]) if hop else float("nan")
        print(f"| {r['round']} | {float(r['msg_s']):,.0f} | {float(r['p50_ms']):.2f} | {float(r['p99_ms']):.2f} | {f1(float(r['hop_us_msg']))} | {float(r['core_us_msg']):.1f} | {f1(lg(r))} | "
              f"{'—' if ratio != ratio else f'{ratio:.2f}'} | {o0:.0f} / {b0:.0f} · {o1:.0f} / {b1:.0f} | {r['load_average']} |")
    v = [float(r["msg_s"]) for r in mine]
    m, sp = spread(v)
    print(f"\nmsg/s: median {m:,.0f}, min {min(v):,.0f}, max {max(v):,.0f}; max/min **{max(v) / min(v):.2f}**, **±{sp:.1f} %** around the median"
          + (f" (target: within ±10 %: {'met' if sp <= 10 else 'not met'})." if hop else "."))
    if near_max is not None:
        print(f"\nWhere the two CPUs were (the load generator's --cross-cpu-probe, each measured second): a cache line's round trip between them"
              f" {statistics.median([ns for ns in probed if ns <= near_max]):.0f} ns near (up to {near_max:.0f} ns)"
              + (f", {statistics.median([ns for ns in probed if ns > near_max]):.0f} ns far apart" if any(ns > near_max for ns in probed) else "; never far apart") + ".\n")
        print("| round | msg/s | measured seconds: near / far apart (settled) of all | msg/s while near | msg/s while far apart |")
        print("|---:|---:|---:|---:|---:|")
        for r in mine:
            n, nf, mn, mf, nn = placement(r)
            print(f"| {r['round']} | {float(r['msg_s']):,.0f} | {nn} / {nf} of {n} | {'—' if mn != mn else f'{mn:,.0f}'} | {'—' if mf != mf else f'{mf:,.0f}'} |")
        for name, idx, count in (("near", 2, 4), ("far apart", 3, 1)):
            # a round counts at a placement when at least 3 of its settled seconds were there
            vals = [placement(r)[idx] for r in mine if placement(r)[count] >= 3]
            if len(vals) >= 2:
                pm, ps = spread(vals)
                print(f"\nmsg/s with the CPUs {name}, over the {len(vals)} rounds with 3 s or more there: median {pm:,.0f}, min {min(vals):,.0f}, max {max(vals):,.0f}, "
                      f"**±{ps:.1f} %**" + (f" (target within ±10 %, at one placement of the machine: {'met' if ps <= 10 else 'not met'})" if hop and name == "near" else "") + ".")
        print()
    c = [float(r["core_us_msg"]) for r in mine]
    line = f"core-sim CPU per message ±{spread(c)[1]:.1f} %"
    g = [lg(r) for r in mine if lg(r) == lg(r)]
    if g:
        line += f"; the load generator's ±{spread(g)[1]:.1f} %"
    if hop:
        ratio = [float(r["hop_us_msg"]) / float(r["core_us_msg"]) for r in mine]
        line += f"; the hop's CPU per message over core-sim's (the same messages) ±{spread(ratio)[1]:.1f} %"
    one = [x for r in mine for x, _ in speeds(r) if x == x]
    both = [y for r in mine for _, y in speeds(r) if y == y]
    if one:
        line += f"; the machine's speed between rounds ±{spread(one)[1]:.1f} % (one core)" + (f", ±{spread(both)[1]:.1f} % (both cores at once)" if both else "")
    print(line + ".")
PY
  {
    echo "## Rounds (issue 21): $GATEWAY_ROUNDS fresh gateway processes in a row, the same load; core-sim: ${ROUNDS_CORE:-fresh}; load generator: ${ROUNDS_LG:-fresh}$([ "${ROUNDS_CORE:-fresh}${ROUNDS_LG:-fresh}" != freshfresh ] && echo "; the shared ones warmed by an uncounted round 0")"
    echo
    cat "$OUT/rounds.md"
    echo
  } >>"$MD"
  cat "$OUT/rounds.md"
fi

if [[ " $PARTS " == *" interleaved "* ]]; then
  # "No bimodal runs", with the machine's own drift taken out of it. The rounds part measures fresh gateways one after
  # the other, so a round's figure is also how long the hypervisor kept the VM's two vCPUs on one cache domain in those
  # 20 s (bench/README.md, "Rounds: the two speeds are the two placements of the vCPUs"). Here GATEWAY_ROUNDS fresh
  # gateways (gw-i1 …) run side by side, each holding its own PEER_SESSIONS - PEER_ACTIVE idle sessions; one core-sim and
  # one load generator (both warm) serve them all. The PEER_ACTIVE ping-pong sessions go to one gateway at a time, a
  # slice of SLICE_WARMUP + SLICE_SECONDS s each (fresh sessions every slice), the gateways in turn (each cycle starts one
  # gateway later), INTERLEAVED_WARMUP_CYCLES uncounted cycles (tiered compilation) then INTERLEAVED_CYCLES counted
  # ones. Each gateway's msg/s is the mean of its counted slices, which the machine's placements fall on alike; its CPU
  # per message, its CPU over those slices' messages.
  SLICE_SECONDS=${SLICE_SECONDS:-4} SLICE_WARMUP=${SLICE_WARMUP:-1}
  INTERLEAVED_CYCLES=${INTERLEAVED_CYCLES:-6} INTERLEAVED_WARMUP_CYCLES=${INTERLEAVED_WARMUP_CYCLES:-3}
  n_gw=$GATEWAY_ROUNDS
  cycles=$((INTERLEAVED_WARMUP_CYCLES + INTERLEAVED_CYCLES))
  slice_total=$((SLICE_WARMUP + SLICE_SECONDS))
  hold=$((cycles * n_gw * (slice_total + 6) + 120))   # the idle sessions' lifetime: the whole part, generously
  stop core; start_core
  # INTERLEAVED_GW1_ENV / INTERLEAVED_GW1_ARGS: environment and arguments for gw-i1 alone, a control that the measure
  # sees a gateway that really is slower (e.g. INTERLEAVED_GW1_ENV=DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0
  # INTERLEAVED_GW1_ARGS=--Gateway:KestrelInlineScheduling=false: the settings before issue 21's inline completions).
  read -r -a gw1_env <<<"${INTERLEAVED_GW1_ENV:-}"; read -r -a gw1_args <<<"${INTERLEAVED_GW1_ARGS:-}"
  for k in $(seq 1 "$n_gw"); do
    if [ "$k" = 1 ]; then
      saved_env=("${GW_ENV_A[@]}"); GW_ENV_A+=("${gw1_env[@]}")
      start_gateway "gw-i$k" $((28100 + k + PORT_OFFSET)) "${gw1_args[@]}"
      GW_ENV_A=("${saved_env[@]}")
    else
      start_gateway "gw-i$k" $((28100 + k + PORT_OFFSET))
    fi
    timeout 60 "${LOADGEN[@]}" idle --seconds 1 --url "ws://127.0.0.1:$((28100 + k + PORT_OFFSET))/ws" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" \
      --sessions 100 --progress off --out "$OUT/inter-warm-$k" >"$OUT/inter-warm-$k.txt" 2>&1 || true
    idle_hold "inter-idle-$k" "ws://127.0.0.1:$((28100 + k + PORT_OFFSET))/ws" $((PEER_SESSIONS - PEER_ACTIVE)) "$hold"
    echo "bench: interleaved: gw-i$k (pid ${PIDS[gw-i$k]}) holds $IDLE_N idle sessions"
  done
  # The one load generator of the slices, started after the gateways and idle sessions: a process started after
  # `exec 8>` would hold the fifo's write end open, and the load generator would never see its input end.
  PROBE_ARGS=(--cross-cpu-probe)
  rm -f "$OUT/inter-lg.in"; mkfifo "$OUT/inter-lg.in"
  timeout $((hold + 120)) "${LOADGEN[@]}" steady --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" \
    --sessions "$PEER_ACTIVE" --rate max --window 1 --seconds "$slice_total" --warmup "$SLICE_WARMUP" --progress off \
    "${PROBE_ARGS[@]}" --rounds-from-stdin <"$OUT/inter-lg.in" >"$OUT/inter-lg.txt" 2>&1 &
  PIDS[inter-lg]=$!
  exec 8>"$OUT/inter-lg.in"
  printf 'label\tgateway\tcycle\tcounted\tmsg_s\tp50_ms\tp99_ms\thop_us_msg\tcore_us_msg\tloadgen_us_msg\twindow_s\tlost\tduplicated\tout_of_order\tconnected\n' >"$OUT/interleaved-runs.tsv"
  for cycle in $(seq 1 "$cycles"); do
    counted=$((cycle > INTERLEAVED_WARMUP_CYCLES ? 1 : 0))
    for i in $(seq 0 $((n_gw - 1))); do
      k=$(( (i + cycle - 1) % n_gw + 1 ))
      label=inter-gw$k-c$cycle; hop=${PIDS[gw-i$k]}; lga=${PIDS[inter-lg]}
      rm -f "$OUT/$label.ready"
      kill -0 "$lga" 2>/dev/null || { echo "bench: interleaved: the load generator exited (see $OUT/inter-lg.txt)" >&2; exit 1; }
      echo "ws://127.0.0.1:$((28100 + k + PORT_OFFSET))/ws $OUT/$label $OUT/$label.ready" >&8
      for _ in $(seq 1 600); do [ -s "$OUT/$label.ready" ] || ! kill -0 "$lga" 2>/dev/null && break; sleep 0.1; done
      kill -0 "$lga" 2>/dev/null || { echo "bench: interleaved: the load generator exited (see $OUT/inter-lg.txt)" >&2; exit 1; }
      sleep "$SLICE_WARMUP"
      t0=$(date +%s.%N); h0=$(tree_cpu "$hop"); c0=$(tree_cpu "${PIDS[core]}"); g0=$(tree_cpu "$lga")
      sleep "$SLICE_SECONDS"
      t1=$(date +%s.%N); h1=$(tree_cpu "$hop"); c1=$(tree_cpu "${PIDS[core]}"); g1=$(tree_cpu "$lga")
      for _ in $(seq 1 600); do grep -Fqx "done $OUT/$label" "$OUT/inter-lg.txt" 2>/dev/null || ! kill -0 "$lga" 2>/dev/null && break; sleep 0.1; done
      python3 - "$OUT/$label/result.json" "$label" "$k" "$cycle" "$counted" "$t0" "$t1" "$h0" "$h1" "$c0" "$c1" "$g0" "$g1" >>"$OUT/interleaved-runs.tsv" <<'PY'
import json, sys
f, label, k, cycle, counted, t0, t1, h0, h1, c0, c1, g0, g1 = sys.argv[1:]
try:
    r = json.load(open(f))
except (OSError, ValueError):
    print(f"{label}\t{k}\t{cycle}\t{counted}\tfailed"); sys.exit()
window = float(t1) - float(t0)
msgs = r["messagesPerSecond"] * window
us = lambda a, b: round((float(b) - float(a)) * 1e6 / msgs, 2) if msgs else float("nan")
print("\t".join(str(x) for x in [label, k, cycle, counted, r["messagesPerSecond"], r["latencyMs"]["p50"], r["latencyMs"]["p99"], us(h0, h1), us(c0, c1), us(g0, g1),
      round(window, 2), r["lost"], r["duplicated"], r["outOfOrder"], r["connected"]]))
PY
      tail -n 1 "$OUT/interleaved-runs.tsv"
    done
  done
  exec 8>&-
  wait "${PIDS[inter-lg]}" 2>/dev/null || echo "bench: interleaved: the load generator exited non-zero (see $OUT/inter-lg.txt)" >&2
  unset "PIDS[inter-lg]"
  for k in $(seq 1 "$n_gw"); do stop "hold-inter-idle-$k"; stop "gw-i$k"; done
  stop core; PROBE_ARGS=()
  python3 scripts/bench-interleaved.py "$OUT/interleaved-runs.tsv" "$OUT" >"$OUT/interleaved.md"
  {
    echo "## Interleaved (issue 21): $n_gw fresh gateways side by side, the load moved between them"
    echo
    echo "One warm core-sim and one warm load generator; each gateway holds $((PEER_SESSIONS - PEER_ACTIVE)) idle sessions; $PEER_ACTIVE closed-loop ping-pong sessions (window 1) go to one gateway at a time for $SLICE_WARMUP s + $SLICE_SECONDS s measured, the gateways in turn; $INTERLEAVED_WARMUP_CYCLES uncounted cycles, then $INTERLEAVED_CYCLES counted."
    echo
    cat "$OUT/interleaved.md"
    echo
  } >>"$MD"
  cat "$OUT/interleaved.md"
fi

runs=()
for name in steady-max-direct steady-max-gateway steady-20k-direct steady-20k-gateway $(for i in $(seq 2 "$FIXED_PAIRS"); do echo "steady-20k-direct-$i steady-20k-gateway-$i"; done) steady-5k-direct steady-5k-gateway storm-direct storm-gateway failover-kill; do
  [ -f "$OUT/$name/result.json" ] && runs+=("$name=$OUT/$name")
done
if [ ${#runs[@]} -gt 0 ]; then
  "${LOADGEN[@]}" compare --title "Gateway vs direct, side by side" --out "$OUT" "${runs[@]}" >>"$MD"
fi
if [ -f "$OUT/cpu.txt" ]; then
  { echo; echo "CPU used per run (2 cores = 2 CPU-s per second):"; echo; sed 's/^/- /' "$OUT/cpu.txt"; } >>"$MD"
fi
echo >>"$MD"
settings="SESSIONS=$SESSIONS WINDOW=$WINDOW SECONDS_STEADY=$SECONDS_STEADY WARMUP=$WARMUP FIXED_PAIRS=$FIXED_PAIRS PORT_OFFSET=$PORT_OFFSET"
if [[ " $PARTS " =~ \ (peers|rounds|interleaved)\  ]]; then
  settings+=" PEER_ROUNDS=$PEER_ROUNDS GATEWAY_ROUNDS=$GATEWAY_ROUNDS PEER_SESSIONS=$PEER_SESSIONS PEER_ACTIVE=$PEER_ACTIVE PEER_SECONDS=$PEER_SECONDS PEER_WARMUP=$PEER_WARMUP PEER_STEADY_AFTER=$PEER_STEADY_AFTER PEER_WORKERS=$PEER_WORKERS GW_TLS=${GW_TLS:-0} PEER_TLS=${PEER_TLS:-0}"
  [[ " $PARTS " == *" interleaved "* ]] && settings+=" SLICE_SECONDS=$SLICE_SECONDS SLICE_WARMUP=$SLICE_WARMUP INTERLEAVED_CYCLES=$INTERLEAVED_CYCLES INTERLEAVED_WARMUP_CYCLES=$INTERLEAVED_WARMUP_CYCLES"
  settings+="; nginx $( (nginx -v 2>&1 || echo "not installed") | sed 's|.*nginx/||'), HAProxy $( (haproxy -v 2>/dev/null || echo "x x not-installed") | awk 'NR==1 {print $3}')"
fi
echo "Command: \`scripts/bench-gateway.sh $PARTS\` ($settings). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$MD"
echo "bench: wrote $MD and $OUT/comparison.html"
cat "$MD"
