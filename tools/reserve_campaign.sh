#!/usr/bin/env bash
# This machine's time profile under the collector's reserve heap (collect/heap.h: the heap grown
# to 1.5 GiB of touched pages before measuring, so that an operator measured alone reuses its large
# tensors' pages as inside a network), fitted from scratch on random configurations only, never on
# a network: models/amd-epyc-2c-reserve-time.json.
#
#   taskset -c 0 tools/reserve_campaign.sh [OUT.json]     (keep the other core idle)
#
# Every step resumes its store, so a rerun measures only what is missing and then refits:
#   1. the plan of a calibration from this machine's default-heap profile, 10 minutes per mode of
#      forward passes, training steps and input gradients (reserve/calibration-fp32-all.jsonl): the
#      random configurations of every layer and operator type, weighted by their share of the zoo;
#   2. the operator campaign of tools/collect_operators.sh (its 15 types, 120 random configurations
#      each, forward and training step; reserve/campaign/operators-*.jsonl), the same
#      configurations as keep/campaign/;
#   3. Linear layers with large weights (tools/collect_large_linear.sh: at least 16M weights, where
#      AlexNet's and VGG's classifiers lie, 40 random configurations per mode of forward passes,
#      training steps and input gradients; reserve/campaign/linear-large-*.jsonl), which step 1's
#      plan leaves out (draws over a second) or rarely reaches;
#   4. `joulecast fit` on all three (k-fold CV per type, as for models/amd-epyc-2c-time.json).
# The calibration's own profile goes to a scratch folder. About 90 minutes of measuring from empty
# stores, 2 minutes of fitting.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/amd-epyc-2c-reserve-time.json}
JC=${JOULECAST:-build/joulecast}
R=data/collect/epyc-2c/reserve
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export JOULECAST_HEAP=reserve
"$JC" calibrate --base models/amd-epyc-2c-time.json --mode all --minutes 30 \
  --store "$R/calibration-fp32-all.jsonl" -o "$SCRATCH/all.json" -q
NETWORKS=0 NETOPS=0 MODES="forward train_step" CPU=${CPU:-0} tools/collect_operators.sh \
  "$R/campaign"
tools/collect_large_linear.sh "$R/campaign" 40
"$JC" fit "$R/calibration-fp32-all.jsonl" "$R/campaign/operators-forward.jsonl" \
  "$R/campaign/operators-train_step.jsonl" "$R/campaign/linear-large-forward.jsonl" \
  "$R/campaign/linear-large-train_step.jsonl" "$R/campaign/linear-large-input_grad.jsonl" \
  --target time_s --max-other-cpus 0.25 --name amd-epyc-2c-reserve-time -o "$OUT"
