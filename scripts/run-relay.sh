#!/usr/bin/env bash
# Starts core-sim and one gateway on this machine, prints the URLs, a token and a way to try it.
# Ctrl-C stops both. Ports: core-sim HTTP 7080, backhaul 7000; gateway ws 8080, agent check 8081 (options below).
set -euo pipefail
cd "$(dirname "$0")/.."

CORE_PORT=7080 BACKHAUL_PORT=7000 GATEWAY_PORT=8080 AGENT_PORT=8081
usage() {
  echo "usage: ./build.sh run [--core-port 7080] [--backhaul-port 7000] [--gateway-port 8080] [--agent-port 8081]"
  echo "  starts core-sim and one gateway, waits for the gateway's /readyz 200, prints URLs, keys and tokens; Ctrl-C stops both"
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --core-port|--backhaul-port|--gateway-port|--agent-port)
      if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]{1,5}$ ]] || [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
        echo "run: $1 needs a port (1-65535); see ./build.sh run --help" >&2
        exit 2
      fi
      case "$1" in
        --core-port) CORE_PORT=$2 ;;
        --backhaul-port) BACKHAUL_PORT=$2 ;;
        --gateway-port) GATEWAY_PORT=$2 ;;
        --agent-port) AGENT_PORT=$2 ;;
      esac
      shift 2 ;;
    *) echo "run: unknown option $1; see ./build.sh run --help" >&2; exit 2 ;;
  esac
done

# Refuse at once, in one line, when a port this run needs is taken (naming the process that holds it): a second
# instance would otherwise find the first one's core-sim answering and print its tokens as its own.
for port in "$CORE_PORT" "$BACKHAUL_PORT" "$GATEWAY_PORT" "$AGENT_PORT"; do
  holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\("[^"]*",pid=[0-9]*\).*/\1/p' | head -1 | tr -d '"' | sed 's/,pid=/ (pid /; s/$/)/')
  if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
    echo "run: port $port is taken${holder:+ by $holder}; stop that process first (ports: core-sim $CORE_PORT and $BACKHAUL_PORT, gateway $GATEWAY_PORT and $AGENT_PORT)" >&2
    exit 1
  fi
done

# Each run has its own folder (logs, the core's public key): never another instance's files.
RUN=$PWD/artifacts/run/$(date -u +%Y%m%d-%H%M%S)-$$
mkdir -p "$RUN"
# The relay's backhaul key (base64 of 32 random bytes): fresh for each run unless given; core-sim holds it for relay-local.
KEY=${RELAY_SHARED_KEY:-$(head -c 32 /dev/urandom | base64)}
# The gateway's admin key (drain, Under Attack mode, cache purge): random for each run unless given.
ADMIN=${RELAY_ADMIN_KEY:-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')}
# core-sim's admin key (faults, the dashboard's drain buttons, operator tokens): random for each run unless given.
CORE_ADMIN=${RELAY_CORE_ADMIN_KEY:-$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')}

# Only what it runs (core-sim, the gateway and what they reference): not the tests, tools and benches.
echo "building…"
for project in core-sim/Relay.CoreSim.csproj gateway/Relay.Gateway.csproj; do
  if ! build_log=$(dotnet build "$project" -c Release -nologo -v quiet 2>&1); then
    tail -20 <<<"$build_log" >&2
    echo "run: the build failed: dotnet build $project -c Release" >&2
    exit 1
  fi
done

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
# A trap that returns lets the script go on: Ctrl-C or a TERM ends it (the EXIT trap then stops both).
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Development: the demo widget's token proxy gets visitor tokens without a key (core-sim mints none elsewhere).
# The gateway: its demo token service is this run's core-sim (whatever --core-port says), negotiate offers it, and it
# takes every session of this machine (`./build.sh load` connects them all from 127.0.0.1: a relay's defaults take
# 100 open and 16 connecting from one address).
# Both on loopback only: this is a development run (core-sim mints visitor tokens to anyone in Development).
# The keys go in the environment (only this user reads /proc/PID/environ), never on a command line (every local user
# reads /proc/PID/cmdline). The relay's key is core-sim's Development SharedKey: an environment name cannot hold the
# relay id's '-' (CoreSim__RelayKeys__relay-local).
CoreSim__SharedKey="$KEY" CoreSim__AdminKey="$CORE_ADMIN" \
dotnet core-sim/bin/Release/net10.0/Relay.CoreSim.dll --environment Development --CoreSim:BindAddress=127.0.0.1 \
  --CoreSim:HttpPort="$CORE_PORT" --CoreSim:BackhaulPort="$BACKHAUL_PORT" --CoreSim:PublicKeyPath="$RUN/core-public.pem" \
  >"$RUN/core-sim.log" 2>&1 &
pids+=($!)
echo $! >"$RUN/core-sim.pid"
for _ in $(seq 1 100); do [ -s "$RUN/core-public.pem" ] && curl -fs http://127.0.0.1:$CORE_PORT/healthz >/dev/null 2>&1 && break; sleep 0.2; done
[ -s "$RUN/core-public.pem" ] || { echo "core-sim did not start; see $RUN/core-sim.log" >&2; tail -5 "$RUN/core-sim.log" >&2; exit 1; }

Gateway__Backhaul__SharedKey="$KEY" Gateway__AdminKey="$ADMIN" \
dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll --Gateway:BindAddress=127.0.0.1 \
  --Gateway:HttpPort="$GATEWAY_PORT" --Gateway:Health:AgentPort="$AGENT_PORT" --Gateway:Backhaul:Endpoints:0="127.0.0.1:$BACKHAUL_PORT" \
  --Gateway:PublicKeyPath="$RUN/core-public.pem" \
  --Gateway:Backhaul:RelayId=relay-local --Gateway:Backhaul:Region=local \
  --Gateway:DemoWidget=true --Gateway:DemoTokenUrl="http://127.0.0.1:$CORE_PORT/v1/tokens" \
  --Gateway:Negotiate:PublicUrl="ws://127.0.0.1:$GATEWAY_PORT/ws" \
  --Gateway:MaxSessionsPerIp=100000 --Gateway:MaxPreAuthConnectionsPerIp=4096 \
  >"$RUN/gateway.log" 2>&1 &
pids+=($!)
echo $! >"$RUN/gateway.pid"
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:$GATEWAY_PORT/readyz >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs http://127.0.0.1:$GATEWAY_PORT/readyz >/dev/null || { echo "gateway not ready; see $RUN/gateway.log" >&2; tail -5 "$RUN/gateway.log" >&2; exit 1; }
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "run: a process of this run (pid $p) exited; see $RUN/*.log" >&2; exit 1; }
done

TOKEN=$(curl -fs -X POST http://127.0.0.1:$CORE_PORT/v1/tokens -H 'content-type: application/json' -d '{"sub":"v1","site":"s1","role":"visitor"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
OPERATOR=$(printf 'header = "Authorization: Bearer %s"\n' "$CORE_ADMIN" | curl -fs -K - -X POST http://127.0.0.1:$CORE_PORT/v1/tokens -H 'content-type: application/json' -d '{"sub":"operator-1","site":"demo","role":"operator"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
cat <<MSG

Relay is running (logs in $RUN):
  demo chat widget    http://127.0.0.1:$GATEWAY_PORT/   (a visitor and an operator in the visitor's room; development only)
  gateway websocket   ws://127.0.0.1:$GATEWAY_PORT/ws?access_token=<token>
  gateway health      http://127.0.0.1:$GATEWAY_PORT/readyz   /status   /metrics
  core-sim            http://127.0.0.1:$CORE_PORT/  (fleet dashboard)  /fleet  POST /v1/tokens
  core-sim direct     ws://127.0.0.1:$CORE_PORT/ws  (the baseline without a relay)

core-sim admin key (the dashboard asks for it once; faults, drain buttons, operator tokens):
  $CORE_ADMIN

A visitor token (1 h; site s1, its room is "v1"):
  $TOKEN

An operator token for the demo widget's operator pane (1 h; site demo; paste it when the page asks):
  $OPERATOR

Try it (type {"type":"hello"} then {"type":"msg","seq":1,"body":"hi"}):
  npx -y wscat -c "ws://127.0.0.1:$GATEWAY_PORT/ws?access_token=$TOKEN"

Drain the gateway:  curl -X POST -H "Authorization: Bearer $ADMIN" 'http://127.0.0.1:$GATEWAY_PORT/admin/drain?force=true'
  (force: it is the fleet's only relay; undrain: the same with /admin/undrain)
Ctrl-C stops both.
MSG
wait -n "${pids[@]}"
