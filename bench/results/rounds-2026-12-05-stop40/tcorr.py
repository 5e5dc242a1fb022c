import json, os, sys, bisect, re, collections
samples=[json.loads(l) for l in open('/tmp/r21/threads.log')]
times=[s['t'] for s in samples]
run=sys.argv[1]
fast=collections.Counter(); slow=collections.Counter(); nf=ns=0
fastcs=collections.Counter(); slowcs=collections.Counter()
fastmsgs=slowmsgs=0
for r in range(1,6):
    p=f'/tmp/r21/{run}/rounds-gateway-{r}'
    d=json.load(open(p+'/result.json')); tl=d['timeline']
    end=os.path.getmtime(p+'/result.json'); start=end-tl[-1]['seconds']
    prev=0
    for idx,e in enumerate(tl):
        rate=(e['received']-prev); prev=e['received']
        if idx<6 or idx>=len(tl)-1: continue
        w=start+e['seconds']
        i=bisect.bisect_left(times,w)
        if i>=len(samples): continue
        s=samples[i]
        agg=collections.Counter(); cs=collections.Counter()
        for k,v in s['d'].items():
            proc,pid,comm=k.split(':',2)
            g=proc+':'+re.sub(r'[0-9]+','#',comm)
            agg[g]+=v[0]+v[1]; cs[g]+=v[2]+v[3]
        if rate>=50000: fast.update(agg); fastcs.update(cs); nf+=1; fastmsgs+=rate
        elif rate<=45000: slow.update(agg); slowcs.update(cs); ns+=1; slowmsgs+=rate
print(f'fast seconds {nf} ({fastmsgs/max(nf,1):.0f} msg/s), slow seconds {ns} ({slowmsgs/max(ns,1):.0f} msg/s)')
print(f'{"thread group":40s} {"fast ticks/s":>12s} {"slow ticks/s":>12s} {"fast us/msg":>11s} {"slow us/msg":>11s} {"fast cs/s":>9s} {"slow cs/s":>9s}')
for g in sorted(set(fast)|set(slow), key=lambda g:-(fast[g]+slow[g])):
    f=fast[g]/max(nf,1); s_=slow[g]/max(ns,1)
    print(f'{g:40s} {f:12.1f} {s_:12.1f} {f*10000/(fastmsgs/max(nf,1)):11.2f} {s_*10000/(slowmsgs/max(ns,1)):11.2f} {fastcs[g]/max(nf,1):9.0f} {slowcs[g]/max(ns,1):9.0f}')
