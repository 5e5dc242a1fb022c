import json, os, sys, bisect, statistics
pr=[(float(l.split()[0]), int(l.split()[1])) for l in open('/tmp/r21/probe.log')]
times=[p[0] for p in pr]
run=sys.argv[1]
pairs=[]
for r in range(1,6):
    p=f'/tmp/r21/{run}/rounds-gateway-{r}'
    d=json.load(open(p+'/result.json')); tl=d['timeline']
    end=os.path.getmtime(p+'/result.json'); start=end-tl[-1]['seconds']
    prev=0; line=[]
    for idx,e in enumerate(tl):
        rate=(e['received']-prev)/1000; prev=e['received']
        if idx<6 or idx>=len(tl)-1: continue
        w=start+e['seconds']-0.5
        i=min(range(len(times)), key=lambda j: abs(times[j]-w))
        if abs(times[i]-w)>0.6: continue
        pairs.append((rate, pr[i][1])); line.append(f'{rate:.0f}k/{pr[i][1]/1000:.0f}')
    print(f'round {r}:', ' '.join(line))
fast=[p for r,p in pairs if r>=50]; slow=[p for r,p in pairs if r<=45]
print('probe µs per MiB: fast seconds median', statistics.median(fast)/1000 if fast else None, len(fast), '; slow seconds median', statistics.median(slow)/1000 if slow else None, len(slow))
print('idle reference: 640')
