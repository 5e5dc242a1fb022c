#!/bin/bash
# One client's TLS handshake loop against a fresh gateway (no core), with Gateway:TlsHandshakesPerSecondPerAddress at
# its default (50/s, burst 200) and off (0): two flood.py processes from 127.0.0.1 for 10 s (full handshakes, no
# resumption; a reset connection is retried at once), gateway CPU from /proc/PID/stat.
cd "$(dirname "$0")/../../.."
D=$(mktemp -d /tmp/relay-tlsflood-XXXX)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $D/k.pem -out $D/c.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out $D/tok.pem 2>/dev/null; openssl ec -in $D/tok.pem -pubout -out $D/pub.pem 2>/dev/null
TCK=$(getconf CLK_TCK)
for round in 1 2; do
  for rate in 50 0; do
    dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll --Gateway:BindAddress=127.0.0.1 --Gateway:HttpPort=29080 --Gateway:HttpsPort=29443 \
      --Gateway:CertificatePath=$D/c.pem --Gateway:CertificateKeyPath=$D/k.pem --Gateway:PublicKeyPath=$D/pub.pem \
      --Gateway:Backhaul:SharedKey=$(head -c 32 /dev/urandom | base64) --Gateway:Backhaul:Endpoints:0=127.0.0.1:1 --Gateway:Backhaul:RelayId=hs \
      --Gateway:MaxPreAuthConnectionsPerIp=1000 --Gateway:Health:AgentPort=-1 --Gateway:TlsHandshakesPerSecondPerAddress=$rate \
      --Logging:LogLevel:Default=Warning > $D/gw-$rate-$round.log 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -fs http://127.0.0.1:29080/healthz >/dev/null 2>&1 && break; sleep 0.2; done
    sleep 2
    c0=$(awk '{print $14+$15}' /proc/$pid/stat)
    for i in 1 2; do (timeout 15 python3 bench/results/tls-flood-2026-12-05/flood.py 127.0.0.1 29443 10 > $D/st-$rate-$round-$i.txt 2>&1 &) ; done
    sleep 11
    c1=$(awk '{print $14+$15}' /proc/$pid/stat)
    sleep 2
    n=$(cat $D/st-$rate-$round-*.txt | awk '/^ok/ {s+=$2} END{print s+0}')
    r=$(cat $D/st-$rate-$round-*.txt | awk '/^ok/ {s+=$4} END{print s+0}')
    refused=$(curl -fs http://127.0.0.1:29080/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"]["refused"]["tlsRate"])')
    echo "round $round, TlsHandshakesPerSecondPerAddress=$rate: handshakes completed $n in 10 s, connections reset $r (the gateway counted $refused), gateway CPU $(awk -v c=$((c1-c0)) -v t=$TCK 'BEGIN{printf "%.0f %% of one core", c/t*100/11}')"
    kill $pid; wait $pid 2>/dev/null
  done
done
rm -rf $D
