#!/usr/bin/env bash
# The calibration figures of the README ("A profile for a new machine in minutes"): from the
# calibration stores under data/collect/epyc-2c (measured by `joulecast calibrate`, see
# data/README.md), the profiles a budget of 2, 5, 10 and 20 minutes buys (each a prefix of the
# store, fitted on a copy so that nothing is measured unless the copy falls short of the budget),
# a profile fitted from scratch on the 20-minute records, and every profile's per-network MAPE
# on the whole networks measured there (tools/network_errors.py).
# The stores were measured under glibc's default heap (before collect/heap.h's policy existed), so
# the calibrations resume them with --heap default. NETWORKS (default the whole networks measured
# under that heap, $D/networks-forward.jsonl) are what the profiles are scored on;
# data/collect/epyc-2c/keep/networks-forward.jsonl has the same networks under the kept heap.
#   [NETWORKS=FILE] tools/calibration_study.sh [OUTDIR]      (default /tmp/calibration-study)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/calibration-study}
JC=${JOULECAST:-build/joulecast}
D=data/collect/epyc-2c
NETWORKS=${NETWORKS:-$D/networks-forward.jsonl}
mkdir -p "$OUT"
for m in 2 5 10 20; do
  cp "$D/calibrate-from-ci-2c-forward.jsonl" "$OUT/ci2c-$m.jsonl"
  "$JC" calibrate --base models/intel-xeon-2c-time.json --minutes $m --store "$OUT/ci2c-$m.jsonl" \
    --heap default \
    -o "$OUT/ci2c-$m.json" -q
done
for m in 2 5 10; do
  cp "$D/calibrate-from-xeon-gold-5120-forward.jsonl" "$OUT/xg-$m.jsonl"
  "$JC" calibrate --base models/xeon-gold-5120.json --minutes $m --store "$OUT/xg-$m.jsonl" \
    --heap default \
    -o "$OUT/xg-$m.json" -q
done
"$JC" fit "$D/calibrate-from-ci-2c-forward.jsonl" --target time_s -o "$OUT/scratch-20.json" >/dev/null
python3 tools/network_errors.py "$NETWORKS" \
  "base (Xeon, time)" models/intel-xeon-2c-time.json \
  "2 min" "$OUT/ci2c-2.json" "5 min" "$OUT/ci2c-5.json" "10 min" "$OUT/ci2c-10.json" \
  "20 min" "$OUT/ci2c-20.json" "fit from scratch, 20-min records" "$OUT/scratch-20.json" \
  "Xeon Gold 5120 energy → 2 min" "$OUT/xg-2.json" "→ 5 min" "$OUT/xg-5.json" \
  "→ 10 min" "$OUT/xg-10.json"
