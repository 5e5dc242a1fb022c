#!/bin/bash
cd /work/main
D=/tmp/r21s41/M$1; mkdir -p $D
timeout 400 /tmp/r21s41/mem/memlat 330 > $D/memlat.txt &
NO_BUILD=1 OUT=$D/run scripts/bench-gateway.sh rounds > $D/run.log 2>&1
echo done > $D/DONE
