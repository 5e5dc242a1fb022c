#!/usr/bin/env python3
# CPU speed while running: thread CPU time to hash 1 MiB (SHA-256, in C), 4 times a second; prints per second:
# wall time, median ns of thread CPU per MiB over that second. Bounded: argv[1] seconds.
import hashlib, time, sys, statistics
buf = b'x' * (1 << 20)
end = time.time() + float(sys.argv[1])
cur = []; sec = int(time.time())
while time.time() < end:
    t0 = time.thread_time_ns()
    hashlib.sha256(buf).digest()
    cur.append(time.thread_time_ns() - t0)
    now = time.time()
    if int(now) != sec:
        print(f'{sec + 0.5:.1f} {statistics.median(cur):.0f} {len(cur)}', flush=True)
        cur = []; sec = int(now)
    time.sleep(0.25)
