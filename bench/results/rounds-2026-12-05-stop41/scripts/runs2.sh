#!/bin/bash
cd /work/main
NO_BUILD=1 ROUNDS_PATHS="direct gateway" OUT=/tmp/r21s41/C1 scripts/bench-gateway.sh rounds > /tmp/r21s41/C1.log 2>&1
NO_BUILD=1 OUT=/tmp/r21s41/R2 scripts/bench-gateway.sh rounds > /tmp/r21s41/R2.log 2>&1
echo done > /tmp/r21s41/runs2.DONE
