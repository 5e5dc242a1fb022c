#!/bin/bash
cd /work/main
D=/tmp/r21s41/S$1; mkdir -p $D
timeout 400 /tmp/r21s41/mem/pp2 330 > $D/pp2.txt &
NO_BUILD=1 OUT=$D/run scripts/bench-gateway.sh rounds > $D/run.log 2>&1
echo done > $D/DONE
