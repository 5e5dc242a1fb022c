import json,os,sys,collections,statistics
D=sys.argv[1]
mem={}
for l in open(f'{D}/memlat.txt'):
    p=l.split()
    if len(p)>=3: mem[int(float(p[0]))]=(float(p[1]),float(p[2]))
rows=[]
for r in range(1,6):
    p=f'{D}/run/rounds-gateway-{r}/result.json'
    tl=json.load(open(p))['timeline']; end=os.path.getmtime(p); start=end-tl[-1]['seconds']
    prev=0; prevt=0; line=[]
    for i,e in enumerate(tl):
        rate=e['received']-prev; prev=e['received']
        s=int(start+prevt)
        m=mem.get(s) or mem.get(s+1)
        if 6<=i<len(tl)-1 and m: rows.append((rate,m[0],m[1])); line.append(f"{rate//1000}:{m[0]:.0f}")
        prevt=e['seconds']
    print('round',r,' '.join(line))
fast=[r for r in rows if r[0]>=50000]; slow=[r for r in rows if r[0]<=45000]
for n,g in (('fast',fast),('slow',slow)):
    if g: print(n,len(g),'DRAM ns/load median',statistics.median(x[1] for x in g),'small',statistics.median(x[2] for x in g))
allm=[v[0] for v in mem.values()]
print('all seconds DRAM ns/load: median',statistics.median(allm),'min',min(allm),'max',max(allm))
import math
xs=[r[0] for r in rows]; ys=[r[1] for r in rows]
mx=sum(xs)/len(xs); my=sum(ys)/len(ys)
cov=sum((x-mx)*(y-my) for x,y in zip(xs,ys)); r=cov/math.sqrt(sum((x-mx)**2 for x in xs)*sum((y-my)**2 for y in ys))
print('pearson r (msg/s vs DRAM ns/load) over', len(xs), 'seconds:', round(r,3))
