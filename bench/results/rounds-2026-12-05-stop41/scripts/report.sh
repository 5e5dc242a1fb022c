#!/bin/bash
# re-run the rounds report of scripts/bench-gateway.sh over an OUT dir
S=/work/main/scripts/bench-gateway.sh
awk '/>"\$OUT\/rounds.md" <<.PY.$/{f=1;next} f&&/^PY$/{exit} f' $S > /tmp/r21s41/report.py
python3 /tmp/r21s41/report.py "$1/peers-runs.tsv" "$1"
