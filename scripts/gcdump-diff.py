#!/usr/bin/env python3
"""Managed objects per session from two `dotnet-gcdump report` outputs.

    scripts/gcdump-diff.py BEFORE.txt AFTER.txt SESSIONS [ROWS]

Prints the total bytes per session, then each type's bytes and objects per session (AFTER - BEFORE) / SESSIONS,
largest first. The report's first column is the size of one object, so a type's bytes are size x count.
Used by scripts/bench-gateway.sh (idle part).
"""
import re,sys
def load(p):
    d={}
    for line in open(p):
        m=re.match(r'\s*([\d,]+)\s+([\d,]+)\s+(.*)$',line)
        if m:
            b=int(m.group(1).replace(',',''));c=int(m.group(2).replace(',',''));t=m.group(3)
            t=re.sub(r'\s*\[[^\]]*\]\s*$','',t); t=re.sub(r' \(Bytes > \d+K\)','',t)
            x=d.setdefault(t,[0,0]);x[0]+=b*c;x[1]+=c
    return d
b=load(sys.argv[1]);a=load(sys.argv[2]);n=int(sys.argv[3])
rows=[]
for t in set(a)|set(b):
    db=a.get(t,[0,0])[0]-b.get(t,[0,0])[0];dc=a.get(t,[0,0])[1]-b.get(t,[0,0])[1]
    rows.append((db/n,dc/n,t))
rows.sort(reverse=True)
print("total %.0f"%sum(r[0] for r in rows))
for r in rows[:int(sys.argv[4]) if len(sys.argv)>4 else 60]:
    print("%8.0f %6.2f  %s"%(r[0],r[1],r[2][:170]))
