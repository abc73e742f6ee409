#!/usr/bin/env bash
# Calibration across two virtual machines of one kind (README, "A profile for a new machine in
# minutes"): models/amd-epyc-2c-reserve-time.json was measured on the VM of 2026-12-05 afternoon;
# the VM of that evening reports the same CPU, ISA flags, libtorch and BLAS, and runs the same
# networks 1.3-1.9 times slower. From data/collect/epyc-2c/reserve/evening/calibrate-from-reserve-forward.jsonl
# (`joulecast calibrate --base models/amd-epyc-2c-reserve-time.json --minutes 20 --heap reserve`,
# measured that evening), the profiles that 2, 5, 10 and 20 minutes buy (prefixes of the store,
# fitted on copies, records measured beside a busy core left out), a profile fitted from scratch
# on the 20-minute records, and each one's per-network MAPE on the whole networks measured that
# evening (none of them measured for the calibration; the held-out seven never measured before),
# beside the base uncalibrated.
#   tools/calibration_study_evening.sh [OUTDIR]      (default /tmp/calibration-study-evening)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/calibration-study-evening}
JC=${JOULECAST:-build/joulecast}
E=data/collect/epyc-2c/reserve/evening
BASE=models/amd-epyc-2c-reserve-time.json
mkdir -p "$OUT"
for m in 2 5 10 20; do
  cp "$E/calibrate-from-reserve-forward.jsonl" "$OUT/rsv-$m.jsonl"
  "$JC" calibrate --base "$BASE" --minutes $m --store "$OUT/rsv-$m.jsonl" --heap reserve \
    --max-other-cpus 0.25 -o "$OUT/rsv-$m.json" -q
done
"$JC" fit "$E/calibrate-from-reserve-forward.jsonl" --target time_s --max-other-cpus 0.25 \
  -o "$OUT/scratch-20.json" >/dev/null
H=data/collect/epyc-2c/reserve/heldout
for set in "$E/networks-forward.jsonl" "$E/modern-networks-forward.jsonl" \
  "$H/networks-forward.jsonl" "$H/round2/networks-forward.jsonl"; do
  echo "$set"
  python3 tools/network_errors.py "$set" "base (afternoon VM)" "$BASE" \
    "2 min" "$OUT/rsv-2.json" "5 min" "$OUT/rsv-5.json" "10 min" "$OUT/rsv-10.json" \
    "20 min" "$OUT/rsv-20.json" "fit from scratch, 20-min records" "$OUT/scratch-20.json"
done
