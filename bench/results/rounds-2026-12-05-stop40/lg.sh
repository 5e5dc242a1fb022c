#!/bin/bash
cd /work/main
for i in 1 2; do
  NO_BUILD=1 LOADGEN_ENV=DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 OUT=/tmp/r21/L$i scripts/bench-gateway.sh rounds > /tmp/r21/L$i.log 2>&1
done
echo done > /tmp/r21/LDONE
