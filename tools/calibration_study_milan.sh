#!/usr/bin/env bash
# Calibration to a CPU model this project had never measured (README, "A profile for a new machine
# in minutes"): on 2026-12-06 the development VM was an AMD EPYC of family 25 model 1 (Zen 3, no
# AVX-512), where every CPU profile in models/ had been measured on other CPUs (the reserve-heap
# time profile models/amd-epyc-2c-reserve-time.json on an EPYC of family 26 model 2, the Intel
# Xeon's models/intel-xeon-2c-time.json). Stores in data/collect/epyc-milan-2c/, measured there
# under the reserve heap, one libtorch thread, no --for (no evaluated network's layers in them):
#   calibrate-from-zen5.jsonl  calibrate --base models/amd-epyc-2c-reserve-time.json --mode both
#                              --minutes 20, resumed with --minutes 45 (a longer plan extends a
#                              shorter one)
#   calibrate-from-xeon.jsonl  calibrate --base models/intel-xeon-2c-time.json --mode both
#                              --minutes 10
#   calibrate-from-xeon-gold.jsonl  calibrate --base models/xeon-gold-5120.json --minutes 10
#                              (forward; the published energy profile of an Intel Xeon Gold 5120)
#   calibrate-from-xeon-more-{forward,train_step}.jsonl  what `calibrate --base
#                              models/intel-xeon-2c-time.json --mode M --minutes 10` measured on a
#                              copy of calibrate-from-xeon.jsonl beyond it (its lines after the
#                              copy's): with it, ten minutes of one mode from the Xeon's profile
# This script fits the profiles that 2, 5, 10, 20 and 45 minutes of the first and 2, 5 and 10
# minutes of the second buy (--mode both; prefixes, fitted on copies of the stores), 10 minutes of
# each mode alone from either base (--mode forward or train_step; records measured beside a
# busy core left out), one fitted from scratch on the first's 20-minute and one on its 45-minute
# records, and prints each one's per-network MAPE on whole networks measured on that machine under
# the same heap, the median of three rounds (tools/median_record.py): the four older networks at
# batch 1, 8, 32 (tools/collect_older_networks.sh) and the seven held-out ones
# (tools/collect_heldout_networks.sh), and the eight of tools/collect_fresh_networks.sh, a test set
# chosen and first measured before the calibration's refit comparison changed and never looked at
# before it had, forward and training step, beside the bases uncalibrated and this machine's full
# campaign (tools/milan_campaign.sh, models/amd-epyc-milan-2c-reserve-time.json).
# FIT=0 reuses the profiles already in OUTDIR; EVAL=0 only fits them.
#   tools/calibration_study_milan.sh [OUTDIR]        (default /tmp/calibration-study-milan)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/calibration-study-milan}
JC=${JOULECAST:-build/joulecast}
D=data/collect/epyc-milan-2c
ZEN5=models/amd-epyc-2c-reserve-time.json
XEON=models/intel-xeon-2c-time.json
GOLD=models/xeon-gold-5120.json
mkdir -p "$OUT"
if [ "${FIT:-1}" != 0 ]; then
  # NAME BASE MODE MINUTES STORE...: calibrate on a copy of the stores, one after the other (a
  # shorter budget fits the prefix of a store; it measures nothing that is there).
  calibrate_copy() {
    local name=$1 base=$2 mode=$3 minutes=$4
    shift 4
    cat "$@" > "$OUT/$name.jsonl"
    "$JC" calibrate --base "$base" --mode "$mode" --minutes "$minutes" --store "$OUT/$name.jsonl" \
      --heap reserve --max-other-cpus 0.25 -o "$OUT/$name.json" -q
  }
  for m in 2 5 10 20 45; do calibrate_copy zen5-$m "$ZEN5" both $m $D/calibrate-from-zen5.jsonl; done
  for m in 2 5 10; do calibrate_copy xeon-$m "$XEON" both $m $D/calibrate-from-xeon.jsonl; done
  # The published Xeon Gold 5120 energy profile (forward passes, joules) as the base.
  for m in 2 5 10; do
    calibrate_copy gold-$m "$GOLD" forward $m $D/calibrate-from-xeon-gold.jsonl
  done
  # Ten minutes on one mode (calibrate's default is --mode forward): the budget of --mode both
  # is split evenly and each mode's plan is its own, so from the family-26 EPYC these are the
  # 20-minute store's halves; from the Xeon, its 10-minute store and what one mode's 10 minutes
  # measured beyond it.
  for mode in forward train_step; do
    calibrate_copy zen5-$mode-10 "$ZEN5" $mode 10 $D/calibrate-from-zen5.jsonl
    calibrate_copy xeon-$mode-10 "$XEON" $mode 10 $D/calibrate-from-xeon.jsonl \
      $D/calibrate-from-xeon-more-$mode.jsonl
  done
  # The store is append-only: its first 3489 lines are what the 20-minute run wrote (10:49-11:09).
  head -n 3489 $D/calibrate-from-zen5.jsonl > "$OUT/first-20-min.jsonl"
  "$JC" fit "$OUT/first-20-min.jsonl" --target time_s --max-other-cpus 0.25 \
    -o "$OUT/scratch-20.json" >/dev/null
  "$JC" fit $D/calibrate-from-zen5.jsonl --target time_s --max-other-cpus 0.25 \
    -o "$OUT/scratch-45.json" >/dev/null
fi
# This machine's full campaign (tools/milan_campaign.sh).
CAMPAIGN=${CAMPAIGN:-models/amd-epyc-milan-2c-reserve-time.json}
[ "${EVAL:-1}" = 0 ] && exit 0
for m in forward train_step; do
  python3 tools/median_record.py $D/networks/round{1,2,3}/networks-$m.jsonl \
    > "$OUT/older-median-$m.jsonl"
  python3 tools/median_record.py $D/heldout/{,round2/,round3/}networks-$m.jsonl \
    > "$OUT/heldout-median-$m.jsonl"
  python3 tools/median_record.py $D/fresh/{,round2/,round3/}networks-$m.jsonl \
    > "$OUT/fresh-median-$m.jsonl"
done
for set in "$OUT"/{older,heldout,fresh}-median-{forward,train_step}.jsonl; do
  echo "$set"
  case $set in *forward*) mode=forward ;; *) mode=train_step ;; esac
  python3 tools/network_errors.py "$set" "base EPYC f26" "$ZEN5" \
    "2 min" "$OUT/zen5-2.json" "5 min" "$OUT/zen5-5.json" "10 min" "$OUT/zen5-10.json" \
    "10 min, $mode only" "$OUT/zen5-$mode-10.json" \
    "20 min" "$OUT/zen5-20.json" "45 min" "$OUT/zen5-45.json" \
    "scratch, 20 min" "$OUT/scratch-20.json" "scratch, 45 min" "$OUT/scratch-45.json" \
    "base Xeon" "$XEON" "Xeon 2 min" "$OUT/xeon-2.json" "Xeon 5 min" "$OUT/xeon-5.json" \
    "Xeon 10 min" "$OUT/xeon-10.json" "Xeon 10 min, $mode only" "$OUT/xeon-$mode-10.json" \
    "full campaign" "$CAMPAIGN"
done
# The Xeon Gold base predicts joules: it has no time error of its own to print.
for set in "$OUT"/{older,heldout,fresh}-median-forward.jsonl; do
  echo "$set"
  python3 tools/network_errors.py "$set" "Xeon Gold 2 min" "$OUT/gold-2.json" \
    "Xeon Gold 5 min" "$OUT/gold-5.json" "Xeon Gold 10 min" "$OUT/gold-10.json" \
    "full campaign" "$CAMPAIGN"
done
