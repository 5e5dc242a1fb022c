#!/usr/bin/env python3
# The interleaved part's table (scripts/bench-gateway.sh interleaved, issue 21): per fresh gateway, the mean of its
# counted slices, its CPU per message, and where the machine's two CPUs were in its measured seconds.
#   python3 scripts/bench-interleaved.py OUT/interleaved-runs.tsv OUT    (OUT: the bench's folder, each slice's result.json)
import csv, json, statistics, sys
all_rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
rows = [r for r in all_rows if r.get("msg_s") not in (None, "failed")]
failed = len(all_rows) - len(rows)
out = sys.argv[2]
counted = [r for r in rows if r["counted"] == "1"]
if not counted:
    print("No counted slices completed."); sys.exit()
def spread(v):
    m = statistics.median(v)
    return m, (max(max(v) - m, m - min(v)) / m * 100 if m else float("nan"))
def ratio(a, b):
    return a / b if b else float("nan")
def seconds(r):
    # the slice's measured seconds from the load generator's timeline: (msg/s, cross-CPU round trip ns), probed ones only
    try:
        d = json.load(open(f"{out}/{r['label']}/result.json"))
    except (OSError, ValueError):
        return []
    tl, start = d.get("timeline") or [], d.get("connectSeconds", 0) + d.get("warmupSeconds", 0)
    # A second counts when most of it lies in the measured window: the sampler's clock starts before the connect
    # phase, so its ticks fall a fraction of a second before the window's start.
    return [((b["received"] - a["received"]) / (b["seconds"] - a["seconds"]), b.get("crossCpuNs", 0))
            for a, b in zip(tl, tl[1:]) if (a["seconds"] + b["seconds"]) / 2 >= start and b["seconds"] > a["seconds"] and b.get("crossCpuNs", 0) > 0]
secs = {r["label"]: seconds(r) for r in counted}
probes = {k: [ns for _, ns in v] for k, v in secs.items()}
allp = sorted(ns for v in probes.values() for ns in v)
near_max = allp[len(allp) // 10] * 1.35 if allp else None
gws = sorted({int(r["gateway"]) for r in counted})
cycles = sorted({int(r["cycle"]) for r in counted})
cell = {(int(r["gateway"]), int(r["cycle"])): float(r["msg_s"]) for r in counted}
print("msg/s per slice (rows: cycles in time order; columns: the fresh gateways, side by side):\n")
print("| cycle | " + " | ".join(f"gw-i{k}" for k in gws) + " | cycle median |")
print("|---:|" + "---:|" * (len(gws) + 1))
for c in cycles:
    vals = [cell.get((k, c)) for k in gws]
    print(f"| {c} | " + " | ".join("—" if v is None else f"{v / 1000:.1f}k" for v in vals) + f" | {statistics.median([v for v in vals if v is not None]) / 1000:.1f}k |")
print()
print("| gateway | slices | msg/s (mean of its slices) | RTT p99 ms (median) | hop CPU µs/msg | core-sim CPU µs/msg | hop ÷ core-sim | measured seconds with the CPUs near / all | msg/s in those seconds |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
means, nears = [], []
for k in gws:
    mine = [r for r in counted if int(r["gateway"]) == k]
    w = [float(r["window_s"]) for r in mine]
    msgs = [float(r["msg_s"]) * x for r, x in zip(mine, w)]
    mean = statistics.mean(float(r["msg_s"]) for r in mine)
    means.append(mean)
    hop = ratio(sum(float(r["hop_us_msg"]) * m for r, m in zip(mine, msgs) if m), sum(msgs))
    core = ratio(sum(float(r["core_us_msg"]) * m for r, m in zip(mine, msgs) if m), sum(msgs))
    p = [ns for r in mine for ns in probes[r["label"]]]
    near = f"{sum(ns <= near_max for ns in p)} / {len(p)}" if near_max else "—"
    at_near = [m for r in mine for m, ns in secs[r["label"]] if near_max and ns <= near_max]
    if len(at_near) >= 3:
        nears.append(statistics.mean(at_near))
    near_rate = f"{statistics.mean(at_near):,.0f}" if len(at_near) >= 3 else "—"
    print(f"| gw-i{k} | {len(mine)} | {mean:,.0f} | {statistics.median(float(r['p99_ms']) for r in mine):.2f} | {hop:.1f} | {core:.1f} | {ratio(hop, core):.2f} | {near} | {near_rate} |")
m, sp = spread(means)
lost = sum(int(r["lost"]) + int(r["duplicated"]) + int(r["out_of_order"]) for r in rows)
slices = [float(r["msg_s"]) for r in counted]
_, slice_sp = spread(slices)
print(f"\n{len(gws)} fresh gateways, msg/s: median {m:,.0f}, min {min(means):,.0f}, max {max(means):,.0f}; max/min **{max(means) / min(means):.2f}**, "
      f"**±{sp:.1f} %** around the median (target: within ±10 %: {'met' if sp <= 10 else 'not met'}). "
      f"The single slices, for comparison (the machine's drift in them): ±{slice_sp:.1f} %. Lost + duplicated + out of order: {lost}."
      + (f" **{failed} slice(s) failed** (no report; see their folders)." if failed else ""))
if len(nears) >= 2:
    nm, ns_ = spread(nears)
    print(f"\nAt one placement (every measured second with the CPUs near, each gateway with 3 or more; the rounds count only settled ones): median {nm:,.0f}, min {min(nears):,.0f}, max {max(nears):,.0f}, **±{ns_:.1f} %**.")
if near_max:
    print(f"\nA second counts as near when the cache-line round trip between the two CPUs was at most {near_max:.0f} ns (1.35 × the 10th percentile); "
          f"{sum(ns <= near_max for ns in allp)} of {len(allp)} measured seconds were.")
