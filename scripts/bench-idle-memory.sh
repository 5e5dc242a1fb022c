#!/usr/bin/env bash
# Issue 21, idle memory per session in both processes (bench/README.md, "Issue 21: memory per idle session"):
# a fresh core-sim and gateway (Release, loopback, ports 273xx/283xx), warmed with 200 sessions; then one burst of N idle
# sessions (default 15,000). RSS of the gateway and core-sim before, 1 s after the burst (no trim yet) and 45 s after
# (the gateway's idle trim, 30 s quiet, has run on a quiet machine); then the live GC heap (dotnet-gcdump) with the
# sessions open and 20 s after they closed, per session, and per type (scripts/gcdump-diff.py).
#   scripts/bench-idle-memory.sh LABEL [N]      results in artifacts/idle-ab/LABEL/, one line appended to artifacts/idle-ab/results.txt
#   GW_ENV="DOTNET_GCgen0size=0x400000" GW_ARGS="--Gateway:X=…" scripts/bench-idle-memory.sh LABEL
#   TLS=1 scripts/bench-idle-memory.sh LABEL    the sessions over wss:// (the gateway's TLS listener, a self-signed P-256
#                                               certificate for 127.0.0.1 that the load generator trusts via SSL_CERT_FILE)
# Needs a Release build (dotnet build Relay.sln -c Release) and dotnet-gcdump (DOTNET_GCDUMP, on PATH, or
# `dotnet tool install --tool-path artifacts/tools dotnet-gcdump`). Every process it starts is stopped on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD; LABEL=${1:?usage: scripts/bench-idle-memory.sh LABEL [SESSIONS]}; N=${2:-15000}
OUT=$ROOT/artifacts/idle-ab/$LABEL; rm -rf "$OUT"; mkdir -p "$OUT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 1000)) ]; then echo "bench-idle-memory: ulimit -n $(ulimit -n) < N + 1000" >&2; exit 2; fi
GCDUMP=${DOTNET_GCDUMP:-$(command -v dotnet-gcdump || echo "$ROOT/artifacts/tools/dotnet-gcdump")}
[ -x "$GCDUMP" ] || { echo "bench-idle-memory: dotnet-gcdump not found (see the head of this script)" >&2; exit 2; }
CORE_HTTP=27380 CORE_BACKHAUL=27300 GW=28380 GWS=28443
KEY=$(head -c 32 /dev/urandom | base64)
export RELAY_CORE_ADMIN_KEY=bench-core-admin-key-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
QUIET=(--Logging:LogLevel:Default=Warning --Logging:LogLevel:Microsoft=Warning)
LOADGEN=(dotnet "$ROOT/tools/Relay.LoadGen/bin/Release/net10.0/Relay.LoadGen.dll")
BENCH_TLS_GW_ARGS=()
if [ "${TLS:-0}" = 1 ]; then . scripts/bench-tls.sh; bench_tls "$OUT" $GWS; fi
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; sleep 1; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 130' INT # a trap that returns would let the script go on after Ctrl-C
trap 'exit 143' TERM
wait_http() { for _ in $(seq 1 150); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "no answer $1"; exit 1; }
dotnet core-sim/bin/Release/net10.0/Relay.CoreSim.dll --CoreSim:BindAddress=127.0.0.1 --CoreSim:HttpPort=$CORE_HTTP \
  --CoreSim:BackhaulPort=$CORE_BACKHAUL --CoreSim:RelayKeys:gw-a=$KEY --CoreSim:AdminKey="$RELAY_CORE_ADMIN_KEY" "${QUIET[@]}" >>"$OUT/core.log" 2>&1 &
CORE=$!; PIDS+=($CORE)
wait_http "http://127.0.0.1:$CORE_HTTP/fleet"
curl -fs "http://127.0.0.1:$CORE_HTTP/v1/public-key.pem" -o "$OUT/core-public.pem"
env ${GW_ENV:-} dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll --Gateway:BindAddress=127.0.0.1 --Gateway:HttpPort=$GW \
  --Gateway:PublicKeyPath="$OUT/core-public.pem" --Gateway:Backhaul:SharedKey=$KEY \
  --Gateway:Backhaul:Endpoints:0=127.0.0.1:$CORE_BACKHAUL --Gateway:Backhaul:RelayId=gw-a \
  --Gateway:MaxSessionsPerIp=$((N + 1000)) --Gateway:MaxPreAuthConnectionsPerIp=1000 --Gateway:MessagesPerSecond=100000 --Gateway:MessageBurst=100000 \
  --Gateway:ShutdownTimeout=00:00:05 --Gateway:Health:AgentPort=-1 "${BENCH_TLS_GW_ARGS[@]}" "${QUIET[@]}" ${GW_ARGS:-} >>"$OUT/gw.log" 2>&1 &
GWP=$!; PIDS+=($GWP)
wait_http "http://127.0.0.1:$GW/readyz"
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
# The gateway's own view of its GC (System.Runtime meter at /metrics) as of its last collection: memory committed by the
# GC and the heap's size (all generations), in KiB. Between committed and heap size is memory the GC keeps (budgets, free
# space); RSS above committed is native memory, or allocation since that collection (the figures lag until the next one).
gcview() { curl -fs "http://127.0.0.1:$GW/metrics" | awk '/^dotnet_gc_last_collection_memory_committed_size_bytes/ {c=$2} /^dotnet_gc_last_collection_heap_size_bytes/ {h+=$2} END {printf "%d %d", c/1024, h/1024}'; }
heap() { "$GCDUMP" collect -p "$1" -o "$OUT/$2.gcdump" >/dev/null 2>&1 && "$GCDUMP" report "$OUT/$2.gcdump" >"$OUT/$2.txt" 2>/dev/null; awk '/GC Heap bytes/ {gsub(",", "", $1); print $1; exit}' "$OUT/$2.txt"; }
url=ws://127.0.0.1:$GW/ws
[ "${TLS:-0}" = 1 ] && url=wss://127.0.0.1:$GWS/ws
timeout 60 "${LOADGEN[@]}" idle --seconds 1 --url "$url" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions 200 --progress off --out "$OUT/warm" >/dev/null 2>&1
sleep 3
g0=$(rss $GWP); c0=$(rss $CORE); read -r gc0 gh0 <<<"$(gcview)"; t0=$(threads $GWP)
timeout 900 "${LOADGEN[@]}" idle --url "$url" --token-url "http://127.0.0.1:$CORE_HTTP/v1/tokens" --sessions "$N" \
    --seconds 900 --connect-concurrency 200 --ready-file "$OUT/ready" --progress off --out "$OUT/idle" >"$OUT/idle.txt" 2>&1 &
LG=$!; PIDS+=($LG)
for _ in $(seq 1 1200); do [ -s "$OUT/ready" ] && break; sleep 0.1; done
n=$(cat "$OUT/ready" 2>/dev/null || echo 0); [ "$n" -gt 0 ] || n=1
sleep 1
g1=$(rss $GWP); c1=$(rss $CORE); read -r gc1 gh1 <<<"$(gcview)"; t1=$(threads $GWP)
sleep 44
g45=$(rss $GWP); c45=$(rss $CORE); read -r gc45 gh45 <<<"$(gcview)"; t45=$(threads $GWP)
# core-sim first: a gateway paused for its dump on a crowded machine can miss link heartbeats, and the core then ends its streams.
hc=$(heap $CORE core-during); hg=$(heap $GWP gw-during)
kill $LG; wait $LG 2>/dev/null
sleep 20
hc0=$(heap $CORE core-closed); hg0=$(heap $GWP gw-closed)
python3 scripts/gcdump-diff.py "$OUT/gw-closed.txt" "$OUT/gw-during.txt" "$n" 50 >"$OUT/heap-gw.txt"
python3 scripts/gcdump-diff.py "$OUT/core-closed.txt" "$OUT/core-during.txt" "$n" 40 >"$OUT/heap-core.txt"
r="$LABEL n=$n $url | gw RSS before $g0 KiB, +1s $(( (g1-g0)*1024/n )) B/s, +45s $(( (g45-g0)*1024/n )) B/s, heap $(( (hg-hg0)/n )) B/s, GC committed +1s $(( (gc1-gc0)*1024/n )) +45s $(( (gc45-gc0)*1024/n )) B/s, GC heap after last GC +1s $(( (gh1-gh0)*1024/n )) +45s $(( (gh45-gh0)*1024/n )) B/s, threads $t0 → $t1 → $t45 | core RSS +1s $(( (c1-c0)*1024/n )) B/s, +45s $(( (c45-c0)*1024/n )) B/s, heap $(( (hc-hc0)/n )) B/s | load $(cut -d' ' -f1 /proc/loadavg)"
echo "$r" | tee "$OUT/result.txt"; echo "$r" >> "$ROOT/artifacts/idle-ab/results.txt"
