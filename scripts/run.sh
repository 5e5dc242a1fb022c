#!/usr/bin/env bash
# ./build.sh run — starts Relay on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f core-sim/Relay.CoreSim.csproj ]; then
  echo "run: core-sim is not built yet in this checkout (issue 3); running the backhaul loopback demo instead" >&2
  exec dotnet run -c Release --project bench/Relay.Benchmarks -- throughput --seconds 5
fi
exec bash scripts/run-relay.sh "$@"
