#!/bin/bash
# probe.sh VALUE: one gateway at full load 15 s; prints link flush metrics + syscalls per message
set -u
cd /work/main
V=$1; OUT=/tmp/s35/probe-$V; rm -rf $OUT; mkdir -p $OUT
KEY=$(head -c 32 /dev/zero | base64)
export RELAY_CORE_ADMIN_KEY=adminadminadminadmin
dotnet core-sim/bin/Release/net10.0/Relay.CoreSim.dll --CoreSim:BindAddress=127.0.0.1 --CoreSim:HttpPort=29080 --CoreSim:BackhaulPort=29081 --CoreSim:RelayKeys:gw-a=$KEY --CoreSim:AdminKey=$RELAY_CORE_ADMIN_KEY --Logging:LogLevel:Default=Warning > $OUT/core.log 2>&1 &
CP=$!
for i in $(seq 50); do curl -fs http://127.0.0.1:29080/fleet >/dev/null && break; sleep 0.2; done
curl -fs http://127.0.0.1:29080/v1/public-key.pem -o $OUT/pub.pem
dotnet gateway/bin/Release/net10.0/Relay.Gateway.dll --Gateway:BindAddress=127.0.0.1 --Gateway:HttpPort=29090 --Gateway:PublicKeyPath=$OUT/pub.pem --Gateway:Backhaul:SharedKey=$KEY --Gateway:Backhaul:Endpoints:0=127.0.0.1:29081 --Gateway:Backhaul:RelayId=gw-a --Gateway:MaxSessionsPerIp=5000 --Gateway:MaxPreAuthConnectionsPerIp=1000 --Gateway:MessagesPerSecond=100000 --Gateway:MessageBurst=100000 --Gateway:Health:AgentPort=-1 --Logging:LogLevel:Default=Warning --Gateway:Backhaul:WriteAtEndOfBatch=$V > $OUT/gw.log 2>&1 &
GP=$!
for i in $(seq 50); do curl -fs http://127.0.0.1:29090/readyz >/dev/null && break; sleep 0.2; done
LG="dotnet tools/Relay.LoadGen/bin/Release/net10.0/Relay.LoadGen.dll"
timeout 60 $LG steady --url ws://127.0.0.1:29090/ws --token-url http://127.0.0.1:29080/v1/tokens --sessions 200 --rate max --window 1 --seconds 25 --warmup 5 --progress off --out $OUT/lg > $OUT/lg.txt 2>&1 &
LP=$!
sleep 12
curl -fs http://127.0.0.1:29090/metrics | grep -E "^relay_backhaul_(flushes|frames_sent|frames_received)|relay_gateway_messages" > $OUT/m0.txt
g0=$(awk '{print $14+$15}' /proc/$GP/stat)
timeout 8 perf stat -e 'syscalls:sys_enter_futex,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_sched_yield,context-switches' -p $GP -- sleep 6 2> $OUT/perf.txt
g1=$(awk '{print $14+$15}' /proc/$GP/stat)
curl -fs http://127.0.0.1:29090/metrics | grep -E "^relay_backhaul_(flushes|frames_sent|frames_received)|relay_gateway_messages" > $OUT/m1.txt
wait $LP
kill $GP $CP; wait 2>/dev/null
grep -E "msg/s|^\| [0-9]" $OUT/lg.txt | head -3
paste $OUT/m0.txt $OUT/m1.txt | awk '{printf "%s %.0f\n", $1, $4-$2}'
grep -E "syscalls|context" $OUT/perf.txt | awk '{print $1, $2}'
echo $((g1-g0)) > $OUT/ticks
python3 - $OUT <<'PY'
import sys,re
o=sys.argv[1]
def m(f):
    d={}
    for l in open(f):
        p=l.split()
        if len(p)==2: d[p[0].split('{')[0]]=float(p[1])
    return d
a,b=m(o+'/m0.txt'),m(o+'/m1.txt')
d={k:b[k]-a[k] for k in a if k in b}
msgs=d['relay_gateway_messages_in_total']
perf={}
for l in open(o+'/perf.txt'):
    p=l.split()
    if len(p)>=2 and p[0].replace(',','').isdigit(): perf[p[1]]=float(p[0].replace(',',''))
ticks=int(open(o+'/ticks').read())
# perf window 6s vs metric window ~6.x s: normalise perf by msgs in window approx
print(f"RESULT {o.split('-')[-1]}: gw_us_msg={ticks*1e4/msgs:.2f} frames_per_flush={d['relay_backhaul_frames_sent_total']/d['relay_backhaul_flushes_total']:.1f} " + " ".join(f"{k.split(':')[-1].replace('sys_enter_','')}={v/msgs:.3f}" for k,v in perf.items()))
PY
