import json, os, sys, bisect
stat=[]
for line in open('/tmp/r21/stat.log'):
    t, rest = line.split(' ',1)
    a, b = rest.split('|')
    a=list(map(int,a.split())); b=list(map(int,b.split()))
    d=[y-x for x,y in zip(a,b)]
    # d: user nice system idle iowait irq softirq steal ctxt ; b[9]=procs_running
    stat.append((float(t), d, b[9]))
times=[s[0] for s in stat]
run=sys.argv[1]
for r in range(1,6):
    p=f'/tmp/r21/{run}/rounds-gateway-{r}'
    if not os.path.exists(p+'/result.json'): continue
    d=json.load(open(p+'/result.json')); tl=d['timeline']
    end=os.path.getmtime(p+'/result.json'); start=end-tl[-1]['seconds']
    prev=0; rows=[]
    for e in tl:
        rate=(e['received']-prev)/1000; prev=e['received']
        w=start+e['seconds']
        i=bisect.bisect_left(times,w)
        if i>=len(stat): continue
        s=stat[i]; d_=s[1]
        rows.append(f"{rate:4.0f}k us{d_[0]:3d} sy{d_[2]:3d} id{d_[3]:3d} si{d_[6]:3d} st{d_[7]:2d} cs{d_[8]//1000:4d}k")
    print(run, 'round', r)
    for row in rows[5:]: print('  ', row)
