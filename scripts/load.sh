#!/usr/bin/env bash
# The load generator: ./scripts/load.sh steady --url ws://127.0.0.1:8080/ws --token-url http://127.0.0.1:7080/v1/tokens --sessions 1000 --rate 10 --seconds 20
# Scenarios: connect-storm | steady | failover | idle; `compare` puts runs side by side. --help lists the options and their defaults.
# Writes result.json, summary.md and latency.html into --out (default ./loadgen-results), relative to the directory
# it is run from (as every path it is given: --ready-file, compare's folders).
# core-sim's admin key (failover kicks, --room-size, tokens outside Development): --admin-key KEY or RELAY_CORE_ADMIN_KEY.
# Builds tools/Relay.LoadGen first (CONFIG, as build.sh: Release unless set).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG=${CONFIG:-Release}
# Built from the checkout (its global.json picks the SDK); run from the caller's directory, so relative paths are theirs.
if ! build_log=$(cd "$ROOT" && dotnet build tools/Relay.LoadGen/Relay.LoadGen.csproj -c "$CONFIG" -nologo -v quiet 2>&1); then
  tail -20 <<<"$build_log" >&2
  echo "load: the build failed: dotnet build tools/Relay.LoadGen -c $CONFIG" >&2
  exit 2
fi
exec dotnet "$ROOT/tools/Relay.LoadGen/bin/$CONFIG/net10.0/Relay.LoadGen.dll" "$@"
