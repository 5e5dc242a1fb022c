# Split a system-wide perf profile by the loop's state per second (fast / slow, from the load generator's timeline)
# and compare CPU per message by process and leaf symbol. usage: pcmp.py DIR  (DIR/perf.txt from perf script, DIR/pids.log, DIR/run/)
import json, os, sys, re, collections, bisect
D=sys.argv[1]; FAST=int(sys.argv[2]) if len(sys.argv)>2 else 50000; SLOW=int(sys.argv[3]) if len(sys.argv)>3 else 45000
proc={}
for l in open(f'{D}/pids.log'):
    parts=l.split(None,1)
    if len(parts)<2: continue
    pid,args=parts
    name='gw' if 'Relay.Gateway' in args else 'core' if 'Relay.CoreSim' in args else 'lg-idle' if ' idle ' in args else 'lg'
    proc[int(pid)]=name
# seconds -> state
sec={}
for r in range(1,6):
    p=f'{D}/run/rounds-gateway-{r}/result.json'
    d=json.load(open(p)); tl=d['timeline']
    end=os.path.getmtime(p); start=end-tl[-1]['seconds']
    prev=0; prevt=0
    for i,e in enumerate(tl):
        rate=e['received']-prev; prev=e['received']
        if 6<=i<len(tl)-1:
            st='fast' if rate>=FAST else 'slow' if rate<=SLOW else None
            if st: sec[int(start+prevt)]=(st,rate)   # the second [start+prevt, start+e.seconds)
        prevt=e['seconds']
nsec=collections.Counter(s for s,_ in sec.values()); msgs=collections.Counter()
for s,r in sec.values(): msgs[s]+=r
cnt={'fast':collections.Counter(),'slow':collections.Counter()}
pc={'fast':collections.Counter(),'slow':collections.Counter()}
for l in open(f'{D}/perf.txt',errors='replace'):
    m=re.match(r'\s*(.*?)\s+(\d+)/(\d+)\s+(\d+\.\d+):\s+(.*)$',l)
    if not m: continue
    comm,pid,tid,t,rest=m.groups(); t=float(t)
    k=sec.get(int(t))
    if not k: continue
    st=k[0]
    pn=proc.get(int(pid),'other:'+comm[:15])
    rest=rest.strip()
    mm=re.match(r'[0-9a-f]+\s+(.*)\s+\((.*)\)$',rest)
    sym,dso=(mm.group(1),os.path.basename(mm.group(2))) if mm else (rest,'?')
    sym=re.sub(r'\+0x[0-9a-f]+$','',sym)
    sym=re.sub(r'\[OptimizedTier1\]|\[Tier0\]|\[Tier1\]|\[Optimized\]|\[QuickJitted\]|\[PreJIT\]','',sym).strip()
    cnt[st][(pn,sym[:110],dso[:20])]+=1; pc[st][pn]+=1
HZ=299.0
def us(st,c): return c/HZ*1e6/msgs[st] if msgs[st] else 0
print(f"fast seconds {nsec['fast']} ({msgs['fast']/max(1,nsec['fast']):.0f} msg/s), slow {nsec['slow']} ({msgs['slow']/max(1,nsec['slow']):.0f} msg/s); µs of CPU per message")
print(f"{'process':10s} {'fast':>7s} {'slow':>7s} {'diff':>7s}   cores fast/slow")
for p in sorted(set(pc['fast'])|set(pc['slow']), key=lambda p:-(pc['fast'][p]+pc['slow'][p])):
    f=us('fast',pc['fast'][p]); s=us('slow',pc['slow'][p])
    if f+s<0.05: continue
    print(f"{p:10s} {f:7.2f} {s:7.2f} {s-f:+7.2f}   {pc['fast'][p]/HZ/max(1,nsec['fast']):.2f}/{pc['slow'][p]/HZ/max(1,nsec['slow']):.2f}")
print()
print("leaf symbols by difference in µs per message (slow - fast)")
keys=set(cnt['fast'])|set(cnt['slow'])
rows=sorted(keys,key=lambda k:-(us('slow',cnt['slow'][k])-us('fast',cnt['fast'][k])))
for k in rows[:45]:
    f=us('fast',cnt['fast'][k]); s=us('slow',cnt['slow'][k])
    print(f"{s-f:+6.2f} {f:6.2f} {s:6.2f}  {k[0]:6s} {k[2]:20s} {k[1]}")
print("...largest negative")
for k in rows[-10:]:
    f=us('fast',cnt['fast'][k]); s=us('slow',cnt['slow'][k])
    print(f"{s-f:+6.2f} {f:6.2f} {s:6.2f}  {k[0]:6s} {k[2]:20s} {k[1]}")
