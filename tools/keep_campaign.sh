#!/usr/bin/env bash
# This machine's time profile under the collector's kept heap (collect/heap.h), fitted from scratch
# on random configurations only, never on a network: models/amd-epyc-2c-keep-campaign-time.json.
#
#   taskset -c 0 tools/keep_campaign.sh [OUT.json]     (keep the other core idle)
#
# Every step resumes its store, so a rerun measures only what is missing and then refits:
#   1. the Xeon time profile's calibration plan, 10 minutes of forward passes
#      (data/collect/epyc-2c/keep/calibrate-from-ci-2c-forward.jsonl);
#   2. the plan of a calibration from this machine's default-heap profile, 10 minutes per mode of
#      forward passes, training steps and input gradients (keep/calibration-fp32-all.jsonl): the
#      random configurations of every layer and operator type, weighted by their share of the zoo;
#   3. the operator campaign of tools/collect_operators.sh (its 15 types, 120 random configurations
#      each, forward and training step; keep/campaign/operators-*.jsonl), which the plans of 1 and
#      2, weighted by time, sample thinly;
#   4. `joulecast fit` on all of them (k-fold CV per type, as for models/amd-epyc-2c-time.json).
# The calibrations' own profiles (steps 1 and 2) go to a scratch folder. About 100 minutes of
# measuring from empty stores, 2 minutes of fitting.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/amd-epyc-2c-keep-campaign-time.json}
JC=${JOULECAST:-build/joulecast}
K=data/collect/epyc-2c/keep
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export JOULECAST_HEAP=keep
"$JC" calibrate --base models/intel-xeon-2c-time.json --minutes 10 \
  --store "$K/calibrate-from-ci-2c-forward.jsonl" -o "$SCRATCH/ci2c.json" -q
"$JC" calibrate --base models/amd-epyc-2c-time.json --mode all --minutes 30 \
  --store "$K/calibration-fp32-all.jsonl" -o "$SCRATCH/all.json" -q
NETWORKS=0 NETOPS=0 MODES="forward train_step" CPU=${CPU:-0} tools/collect_operators.sh \
  "$K/campaign"
"$JC" fit "$K/calibrate-from-ci-2c-forward.jsonl" "$K/calibration-fp32-all.jsonl" \
  "$K/campaign/operators-forward.jsonl" "$K/campaign/operators-train_step.jsonl" \
  --target time_s --max-other-cpus 0.25 --name amd-epyc-2c-keep-campaign-time -o "$OUT"
