#!/usr/bin/env bash
# The load generator: ./scripts/load.sh steady --url ws://127.0.0.1:8080/ws --token-url http://127.0.0.1:7080/v1/tokens --sessions 1000 --rate 10 --seconds 20
# Scenarios: connect-storm | steady | failover | idle; `compare` puts runs side by side. --help lists the options.
# Writes result.json, summary.md and latency.html into --out (default ./loadgen-results).
# core-sim's admin key (failover kicks, --room-size, tokens outside Development): --admin-key KEY or RELAY_CORE_ADMIN_KEY.
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project tools/Relay.LoadGen -- "$@"
