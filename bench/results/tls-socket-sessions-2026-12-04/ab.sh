#!/bin/bash
# interleaved A/B: own-socket TLS (SocketSessions=true) vs Kestrel's TLS listener (false), wss gateway only
cd /work/main
for pair in 1 2 3 4; do
  for mode in true false; do
    [ $((pair % 2)) = 0 ] && { [ $mode = true ] && mode=false || mode=true; }
    out=/tmp/s36/ab-$mode-$pair
    PEER_TLS=1 PEER_PATHS=gateway PEER_ROUNDS=1 NO_BUILD=1 GW_ARGS="--Gateway:SocketSessions=$mode" OUT=$out scripts/bench-gateway.sh peers > $out.txt 2>&1
    echo "pair $pair mode $mode: $(grep -E "gateway" $out/peers.md | tail -2 | tr "\n" " ")"
  done
done
