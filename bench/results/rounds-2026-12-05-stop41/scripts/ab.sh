#!/bin/bash
# A/B: idle sessions' heartbeat off (IDLE_ARGS="--heartbeat 0") vs default (5 s); rounds, alternated
cd /work/main
for i in 1 2; do
  NO_BUILD=1 IDLE_ARGS="--heartbeat 0" OUT=/tmp/r21s41/H$i scripts/bench-gateway.sh rounds > /tmp/r21s41/H$i.log 2>&1
  NO_BUILD=1 OUT=/tmp/r21s41/A$i scripts/bench-gateway.sh rounds > /tmp/r21s41/A$i.log 2>&1
done
echo done > /tmp/r21s41/DONE
