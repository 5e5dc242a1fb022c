#!/bin/bash
# TLS handshake cost, own handshake (SocketSessions=true) vs Kestrel's (false): a fresh gateway each, no core,
# openssl s_time -new for 5 s after a 2 s warm-up, gateway CPU from /proc/PID/stat.
cd /work/main
D=/tmp/s36/hs; mkdir -p $D
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $D/k.pem -out $D/c.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out $D/tok.pem 2>/dev/null; openssl ec -in $D/tok.pem -pubout -out $D/pub.pem 2>/dev/null
TCK=$(getconf CLK_TCK)
for round in 1 2 3; do
  for mode in true false; do
    [ $((round % 2)) = 0 ] && { [ $mode = true ] && mode=false || mode=true; }
    dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll --Gateway:BindAddress=127.0.0.1 --Gateway:HttpPort=29080 --Gateway:HttpsPort=29443 \
      --Gateway:CertificatePath=$D/c.pem --Gateway:CertificateKeyPath=$D/k.pem --Gateway:PublicKeyPath=$D/pub.pem \
      --Gateway:Backhaul:SharedKey=$(head -c 32 /dev/urandom | base64) --Gateway:Backhaul:Endpoints:0=127.0.0.1:1 --Gateway:Backhaul:RelayId=hs \
      --Gateway:MaxPreAuthConnectionsPerIp=1000 --Gateway:Health:AgentPort=-1 --Gateway:SocketSessions=$mode --Logging:LogLevel:Default=Warning > $D/gw-$mode-$round.log 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do curl -fs http://127.0.0.1:29080/healthz >/dev/null 2>&1 && break; sleep 0.2; done
    timeout 10 openssl s_time -connect 127.0.0.1:29443 -new -time 2 >/dev/null 2>&1
    c0=$(awk '{print $14+$15}' /proc/$pid/stat)
    out=$(timeout 15 openssl s_time -connect 127.0.0.1:29443 -new -time 5 2>&1 | grep -E "connections in [0-9.]+s" | head -1)
    c1=$(awk '{print $14+$15}' /proc/$pid/stat)
    n=$(echo "$out" | awk '{print $1}')
    echo "round $round mode $mode: $out | gateway CPU per handshake $(awk -v c=$((c1-c0)) -v t=$TCK -v n=$n 'BEGIN{printf "%.3f ms", c/t*1000/n}')"
    kill $pid; wait $pid 2>/dev/null
  done
done
