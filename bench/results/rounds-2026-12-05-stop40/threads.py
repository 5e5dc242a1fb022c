#!/usr/bin/env python3
# Per second, per process (gateway, core-sim, load generator) and thread name: user and system ticks. Bounded: argv[1] seconds.
import os, time, sys, json, glob
names = {'Relay.Gateway.dll': 'gw', 'Relay.CoreSim.dll': 'core', 'Relay.LoadGen.dll': 'lg'}
def procs():
    out = {}
    for p in glob.glob('/proc/[0-9]*'):
        try:
            cmd = open(p + '/cmdline', 'rb').read().split(b'\0')
        except OSError:
            continue
        for c in cmd:
            for n, k in names.items():
                if c.endswith(n.encode()):
                    out[int(p[6:])] = k
    return out
def sample(ps):
    tot = {}
    for pid, k in ps.items():
        for t in glob.glob(f'/proc/{pid}/task/*'):
            try:
                s = open(t + '/stat').read()
                st = open(t + '/status').read()
            except OSError:
                continue
            comm = s[s.index('(') + 1:s.rindex(')')]
            f = s[s.rindex(')') + 2:].split()
            ut, stt = int(f[11]), int(f[12])
            vol = int([l for l in st.splitlines() if l.startswith('voluntary_ctxt_switches')][0].split()[1])
            inv = int([l for l in st.splitlines() if l.startswith('nonvoluntary_ctxt_switches')][0].split()[1])
            key = f'{k}:{pid}:{comm}'
            a = tot.setdefault(key, [0, 0, 0, 0, 0])
            a[0] += ut; a[1] += stt; a[2] += vol; a[3] += inv; a[4] += 1
    return tot
end = time.time() + float(sys.argv[1])
prev = None
while time.time() < end:
    ps = procs()
    cur = sample(ps)
    now = time.time()
    if prev:
        d = {k: [c - p for c, p in zip(v[:4], prev.get(k, [0, 0, 0, 0]))] + [v[4]] for k, v in cur.items()}
        print(json.dumps({'t': now, 'd': d}), flush=True)
    prev = cur
    time.sleep(1)
