import json,os,sys,statistics
D=sys.argv[1]
pp={}
for l in open(f'{D}/pp2.txt'):
    p=l.split()
    if len(p)>=4: pp[int(float(p[0]))]=(float(p[1]),float(p[2]),float(p[3]))
rows=[]
for r in range(1,6):
    p=f'{D}/run/rounds-gateway-{r}/result.json'
    d=json.load(open(p)); tl=d['timeline']; end=os.path.getmtime(p); start=end-tl[-1]['seconds']
    line=[]
    for i,(a,b) in enumerate(zip(tl,tl[1:])):
        rate=(b['received']-a['received'])/(b['seconds']-a['seconds'])
        s=int(start+a['seconds']); m=pp.get(s) or pp.get(s+1)
        if a['seconds']>=d['connectSeconds']+d['warmupSeconds'] and m:
            rows.append((rate,)+m+(b.get('crossCpuNs',0),)); line.append(f"{rate/1000:.0f}:{m[0]:.0f}:{m[1]/1000:.1f}/{m[2]/1000:.1f}")
    print('round',r,' '.join(line))
near=[r for r in rows if r[1]<150]; far=[r for r in rows if r[1]>=150]
for name,g in (('near',near),('far',far)):
    if not g: continue
    fast=[r for r in g if r[0]>=48000]; slow=[r for r in g if r[0]<44000]
    for n2,h in (('fast',fast),('slow',slow)):
        if h: print(name,n2,len(h),'kernel us CPU0',round(statistics.median(x[2] for x in h)/1000,2),'CPU1',round(statistics.median(x[3] for x in h)/1000,2), 'max of the two', round(statistics.median(max(x[2],x[3]) for x in h)/1000,2))
