#!/usr/bin/env bash
# Starts core-sim and one gateway on this machine, prints the URLs, a token and a way to try it.
# Ctrl-C stops both. Ports: core-sim HTTP 7080, backhaul 7000; gateway ws 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$PWD/artifacts/run
mkdir -p "$RUN"
KEY=${RELAY_SHARED_KEY:-relay-dev-shared-key-change-me}
ADMIN=${RELAY_ADMIN_KEY:-relay-dev-admin-key}

echo "building…"
dotnet build Relay.sln -c Release -nologo -v quiet >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

rm -f "$RUN/core-public.pem"
dotnet core-sim/bin/Release/net10.0/Relay.CoreSim.dll \
  --CoreSim:SharedKey="$KEY" --CoreSim:PublicKeyPath="$RUN/core-public.pem" \
  >"$RUN/core-sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$RUN/core-public.pem" ] && curl -fs http://127.0.0.1:7080/healthz >/dev/null 2>&1 && break; sleep 0.2; done
[ -s "$RUN/core-public.pem" ] || { echo "core-sim did not start; see $RUN/core-sim.log" >&2; tail -5 "$RUN/core-sim.log" >&2; exit 1; }

dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll \
  --Gateway:PublicKeyPath="$RUN/core-public.pem" --Gateway:Backhaul:SharedKey="$KEY" \
  --Gateway:Backhaul:RelayId=relay-local --Gateway:Backhaul:Region=local --Gateway:AdminKey="$ADMIN" \
  --Gateway:DemoWidget=true \
  >"$RUN/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs http://127.0.0.1:8080/readyz >/dev/null || { echo "gateway not ready; see $RUN/gateway.log" >&2; tail -5 "$RUN/gateway.log" >&2; exit 1; }

TOKEN=$(curl -fs -X POST http://127.0.0.1:7080/v1/tokens -H 'content-type: application/json' -d '{"sub":"v1","site":"s1","role":"visitor"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
cat <<MSG

Relay is running (logs in $RUN):
  demo chat widget    http://127.0.0.1:8080/   (a visitor and an operator in one room; development only)
  gateway websocket   ws://127.0.0.1:8080/ws?access_token=<token>
  gateway health      http://127.0.0.1:8080/readyz   /status   /metrics
  core-sim            http://127.0.0.1:7080/  (fleet dashboard)  /fleet  POST /v1/tokens
  core-sim direct     ws://127.0.0.1:7080/ws  (the baseline without a relay)

A visitor token (1 h):
  $TOKEN

Try it (type {"type":"hello"} then {"type":"msg","seq":1,"body":"hi"}):
  npx -y wscat -c "ws://127.0.0.1:8080/ws?access_token=$TOKEN"

Drain the gateway:  curl -X POST -H "Authorization: Bearer $ADMIN" http://127.0.0.1:8080/admin/drain
Ctrl-C stops both.
MSG
wait -n "${pids[@]}"
