import json,sys,os
for run in sys.argv[1:]:
    for r in range(1,6):
        p=f'{run}/rounds-gateway-{r}/result.json'
        if not os.path.exists(p): continue
        tl=json.load(open(p))['timeline']; prev=0; out=[]
        for e in tl:
            out.append(round((e['received']-prev)/1000)); prev=e['received']
        print(os.path.basename(run), 'round', r, ' '.join(map(str,out)))
