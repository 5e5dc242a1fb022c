#!/usr/bin/env bash
cd /work/main
for i in 1 2 3; do
  for mode in true false; do
    OUT=/tmp/s34/tls-ab/$mode-$i GW_TLS=1 GW_ARGS="--Gateway:TlsReleaseBuffers=$mode" NO_BUILD=1 PEER_PATHS=gateway PEER_ROUNDS=1 bash scripts/bench-gateway.sh peers > /tmp/s34/tls-ab-$mode-$i.log 2>&1
    echo "$mode $i $(grep -P '^peer-gateway|^peers-gateway|gateway\tgateway' /tmp/s34/tls-ab/$mode-$i/peers-runs.tsv | tail -1)"
  done
done
