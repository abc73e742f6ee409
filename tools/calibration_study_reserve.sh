#!/usr/bin/env bash
# Calibration from another CPU under the reserve heap (README, "A profile for a new machine in
# minutes"): models/intel-xeon-2c-time.json was measured on an Intel Xeon VM of this machine
# kind; data/collect/epyc-2c/reserve/xeon-calibration/calibrate-from-xeon.jsonl is the store of
# `joulecast calibrate --base models/intel-xeon-2c-time.json --mode both --minutes 20 --heap
# reserve` measured on the AMD EPYC (no --for: no evaluated network's layers in it). This script
# fits the profiles that 2, 5, 10 and 20 minutes buy (prefixes of the store, fitted on copies,
# records measured beside a busy core left out), one fitted from scratch on the 20-minute records,
# and prints each one's per-network MAPE on whole networks measured under the same heap, none of
# them measured for the calibration, beside the base uncalibrated and this machine's full
# reserve-heap campaign (models/amd-epyc-2c-reserve-time.json).
#   tools/calibration_study_reserve.sh [OUTDIR]      (default /tmp/calibration-study-reserve)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/calibration-study-reserve}
JC=${JOULECAST:-build/joulecast}
R=data/collect/epyc-2c/reserve
STORE=$R/xeon-calibration/calibrate-from-xeon.jsonl
BASE=models/intel-xeon-2c-time.json
mkdir -p "$OUT"
for m in 2 5 10 20; do
  cp "$STORE" "$OUT/xeon-$m.jsonl"
  "$JC" calibrate --base "$BASE" --mode both --minutes $m --store "$OUT/xeon-$m.jsonl" \
    --heap reserve --max-other-cpus 0.25 -o "$OUT/xeon-$m.json" -q
done
"$JC" fit "$STORE" --target time_s --max-other-cpus 0.25 -o "$OUT/scratch-20.json" >/dev/null
# Today's float32 networks of the bfloat16 check, the four older networks' medians of
# 2026-12-06 morning, the held-out seven's medians (12-05 evening) and the six modern networks.
python3 tools/median_record.py $R/bf16/networks-round{1,2,3}.jsonl |
  python3 -c 'import json, sys
for l in sys.stdin:
    if json.loads(l)["dtype"] == "float32": print(l, end="")' > "$OUT/bf16-fp32-median.jsonl"
for m in forward train_step; do
  python3 tools/median_record.py $R/heldout/{,round2/,round3/}networks-$m.jsonl \
    > "$OUT/heldout-median-$m.jsonl"
done
for set in "$OUT/bf16-fp32-median.jsonl" \
  $R/dec06/median-networks-{forward,train_step}.jsonl \
  "$OUT"/heldout-median-{forward,train_step}.jsonl \
  $R/modern-networks-{forward,train_step}.jsonl; do
  echo "$set"
  python3 tools/network_errors.py "$set" "base (Xeon)" "$BASE" \
    "2 min" "$OUT/xeon-2.json" "5 min" "$OUT/xeon-5.json" "10 min" "$OUT/xeon-10.json" \
    "20 min" "$OUT/xeon-20.json" "scratch, 20-min records" "$OUT/scratch-20.json" \
    "full campaign" models/amd-epyc-2c-reserve-time.json
done
