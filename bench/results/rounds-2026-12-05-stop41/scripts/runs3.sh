#!/bin/bash
cd /work/main
NO_BUILD=1 OUT=/tmp/r21s41/R3 scripts/bench-gateway.sh rounds > /tmp/r21s41/R3.log 2>&1
NO_BUILD=1 OUT=/tmp/r21s41/R4 scripts/bench-gateway.sh rounds > /tmp/r21s41/R4.log 2>&1
echo done > /tmp/r21s41/runs3.DONE
