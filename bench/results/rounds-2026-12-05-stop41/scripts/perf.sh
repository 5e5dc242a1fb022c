#!/bin/bash
# One rounds run with every process's JIT map on and a system-wide perf record (wall-clock timestamps), plus a pid log.
cd /work/main
D=/tmp/r21s41/P$1; mkdir -p $D
( while [ ! -f $D/STOP ]; do ps -eo pid,args | grep -E 'Relay\.(Gateway|CoreSim|LoadGen)' | grep -v grep >> $D/pids.log; sleep 1; done ) &
perf record -a -g -k CLOCK_REALTIME -F 299 -o $D/perf.data > $D/perf.log 2>&1 &
PP=$!
M="DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0"
NO_BUILD=1 GW_ENV=$M CORE_ENV=$M LOADGEN_ENV=$M OUT=$D/run scripts/bench-gateway.sh rounds > $D/run.log 2>&1
kill -INT $PP; wait $PP
touch $D/STOP
echo done > $D/DONE
