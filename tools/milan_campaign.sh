#!/usr/bin/env bash
# The full time campaign of the family 25 model 1 AMD EPYC (Zen 3) VM under the reserve heap,
# fitted from scratch on random configurations only, never on a network:
# models/amd-epyc-milan-2c-reserve-time.json, the "full campaign" of the calibration study there
# (tools/calibration_study_milan.sh). The same parts as tools/reserve_campaign.sh on the family
# 26 EPYC:
#   1. random layer configurations: the two calibration stores of data/collect/epyc-milan-2c/
#      (calibrate --mode both from the family-26 EPYC's profile, 45 minutes, and from the Intel
#      Xeon's, 10 minutes: 7902 + 1966 records, forward and training step), not re-measured;
#   2. the operator campaign of tools/collect_operators.sh (15 operator types and token-input
#      Linear, 120 random configurations each for forward passes, the first 40 of them for
#      training steps, which on this CPU would have taken over an hour at 120;
#      campaign/operators-*.jsonl);
#   3. Linear layers with large weights (tools/collect_large_linear.sh, 40 per mode;
#      campaign/linear-large-*.jsonl), which the calibration plans leave out;
#   4. input gradients, the mode `predict --freeze` needs for frozen layers behind a trainable one
#      (added 2026-12-06 evening): the plan of a 10-minute `calibrate --mode input_grad` from the
#      family-26 EPYC's profile (calibrate-input_grad-from-zen5.jsonl; its own profile goes to a
#      scratch folder) and step 3's large Linear layers in that mode, as the family-26 campaign
#      has them (tools/reserve_campaign.sh: 10 minutes of its calibration plan per mode);
#   5. `joulecast fit` on all of it, records measured beside a busy core left out.
# About 80 minutes of measuring from empty stores, then three minutes of fitting.
#
#   tools/milan_campaign.sh [OUT.json]     (keep the other core idle; every step resumes)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/amd-epyc-milan-2c-reserve-time.json}
JC=${JOULECAST:-build/joulecast}
D=data/collect/epyc-milan-2c
JOULECAST_HEAP=reserve N=120 NETWORKS=0 NETOPS=0 MODES=forward CPU=${CPU:-0} \
  tools/collect_operators.sh "$D/campaign"
JOULECAST_HEAP=reserve N=40 NETWORKS=0 NETOPS=0 MODES=train_step CPU=${CPU:-0} \
  tools/collect_operators.sh "$D/campaign"
MODES="forward train_step input_grad" taskset -c "${CPU:-0}" tools/collect_large_linear.sh \
  "$D/campaign" 40
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
JOULECAST_HEAP=reserve flock /tmp/joulecast-cpu.lock taskset -c "${CPU:-0}" "$JC" calibrate \
  --base models/amd-epyc-2c-reserve-time.json --mode input_grad --minutes 10 \
  --store "$D/calibrate-input_grad-from-zen5.jsonl" -o "$SCRATCH/input_grad.json" -q
"$JC" fit "$D/calibrate-from-zen5.jsonl" "$D/calibrate-from-xeon.jsonl" \
  "$D"/campaign/operators-{forward,train_step}.jsonl \
  "$D"/campaign/linear-large-{forward,train_step,input_grad}.jsonl \
  "$D/calibrate-input_grad-from-zen5.jsonl" \
  --target time_s --max-other-cpus 0.25 --name amd-epyc-milan-2c-reserve-time -o "$OUT"
