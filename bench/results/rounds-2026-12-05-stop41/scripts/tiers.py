import json, os, sys, re, collections
D=sys.argv[1]
exec(open('/tmp/r21s41/secmap.py').read())
c={'fast':collections.Counter(),'slow':collections.Counter()}
for l in open(f'{D}/perf.txt',errors='replace'):
    m=re.match(r'\s*(.*?)\s+(\d+)/(\d+)\s+(\d+\.\d+):\s+(.*)$',l)
    if not m: continue
    comm,pid,tid,t,rest=m.groups(); k=sec.get(int(float(t)))
    if not k: continue
    pn=proc.get(int(pid),'other')
    if pn=='other': continue
    if '.map' in rest:
        tm=re.search(r'\[(QuickJitted|OptimizedTier1OSR|OptimizedTier1|InstrumentedTierOptimized|InstrumentedTier|Optimized|PreJIT|Tier0)\]',rest)
        tier=tm.group(1) if tm else 'jit-other'
    elif 'libclrjit' in rest: tier='JIT compiler'
    elif 'libcoreclr' in rest: tier='coreclr'
    elif 'kernel' in rest: tier='kernel'
    elif 'System.Private.CoreLib.dll' in rest or '.dll' in rest: tier='R2R'
    else: tier='native-other'
    c[k[0]][(pn,tier)]+=1
for pn in ['lg','gw','core']:
    for tier in sorted({t for s in c for (p,t) in c[s] if p==pn}):
        f=c['fast'][(pn,tier)]/299e0*1e6/msgs['fast']; s=c['slow'][(pn,tier)]/299e0*1e6/msgs['slow']
        print(f"{pn:5s} {tier:28s} fast {f:6.2f} slow {s:6.2f}  {s-f:+6.2f}")
