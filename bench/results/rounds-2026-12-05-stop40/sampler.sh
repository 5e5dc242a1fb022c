#!/bin/bash
# per second: wall time, cpu line deltas (user nice system idle iowait irq softirq steal), ctxt delta, procs_running
end=$(( $(date +%s) + ${1:-900} ))
prev=""
while [ $(date +%s) -lt $end ]; do
  now=$(date +%s.%N)
  cur=$(awk '/^cpu /{print $2,$3,$4,$5,$6,$7,$8,$9} /^ctxt/{c=$2} /^procs_running/{r=$2} END{print c, r}' /proc/stat | tr '\n' ' ')
  if [ -n "$prev" ]; then
    echo "$now $prev | $cur"
  fi
  prev="$cur"
  sleep 1
done
