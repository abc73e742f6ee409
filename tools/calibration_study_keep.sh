#!/usr/bin/env bash
# The calibration figures under the collector's kept heap (README, "A profile for a new machine in
# minutes"): from data/collect/epyc-2c/keep/calibrate-from-ci-2c-forward.jsonl (`joulecast
# calibrate --base models/intel-xeon-2c-time.json --minutes 10`, measured kept), the profiles that
# 2, 5 and 10 minutes buy (prefixes of the store, fitted on copies), a profile fitted from
# scratch on the 10-minute records, and
# each one's per-network MAPE on the whole networks measured kept there, beside the base
# uncalibrated and this machine's own profiles (the campaign under glibc's default heap, and that
# campaign calibrated kept: models/amd-epyc-2c-keep-time.json).
# The store's records cost 9.98 minutes (their context.protocol.wall_s): "10 minutes" is that, so
# that calibrate finds its budget spent and measures nothing on the machine running this script
# (on 2026-12-05 the 10-minute copy measured 5 more records, on the machine of the store).
#   tools/calibration_study_keep.sh [OUTDIR]      (default /tmp/calibration-study-keep)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/calibration-study-keep}
JC=${JOULECAST:-build/joulecast}
K=data/collect/epyc-2c/keep
mkdir -p "$OUT"
for m in 2 5 9.98; do
  cp "$K/calibrate-from-ci-2c-forward.jsonl" "$OUT/ci2c-$m.jsonl"
  "$JC" calibrate --base models/intel-xeon-2c-time.json --minutes $m --store "$OUT/ci2c-$m.jsonl" \
    --heap keep -o "$OUT/ci2c-$m.json" -q
done
"$JC" fit "$K/calibrate-from-ci-2c-forward.jsonl" --target time_s -o "$OUT/scratch-10.json" >/dev/null
python3 tools/network_errors.py "$K/networks-forward.jsonl" \
  "base (Xeon, time)" models/intel-xeon-2c-time.json \
  "2 min" "$OUT/ci2c-2.json" "5 min" "$OUT/ci2c-5.json" "10 min" "$OUT/ci2c-9.98.json" \
  "fit from scratch, 10-min records" "$OUT/scratch-10.json" \
  "this machine's campaign (default heap)" models/amd-epyc-2c-time.json \
  "the same, calibrated kept (30 min)" models/amd-epyc-2c-keep-time.json
