#!/bin/bash
# A/B: hill climbing off in every process vs default; rounds, alternated
cd /work/main
HC="DOTNET_HillClimbing_Disable=1"
for i in 3 4; do
  NO_BUILD=1 OUT=/tmp/r21/A$i scripts/bench-gateway.sh rounds > /tmp/r21/A$i.log 2>&1
  NO_BUILD=1 GW_ENV=$HC CORE_ENV=$HC LOADGEN_ENV=$HC OUT=/tmp/r21/B$i scripts/bench-gateway.sh rounds > /tmp/r21/B$i.log 2>&1
done
echo done > /tmp/r21/DONE
