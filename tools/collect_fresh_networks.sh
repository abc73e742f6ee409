#!/usr/bin/env bash
# Eight zoo networks never measured on the family 25 model 1 AMD EPYC (Zen 3) VM, chosen on
# 2026-12-06 at 13:23 UTC before any of them was measured there or a calibration change was tried:
# a fresh test set for calibration (README, "To a CPU model never measured before"), since the
# eleven networks measured there earlier had been seen while working on calibration. None of them,
# nor its layers, is in the calibration stores (random configurations only). Forward passes and
# training steps at batch 1 and 8 (1 for the two largest), under the reserve heap, one libtorch
# thread; about 20 minutes.
#
#   taskset -c 0 tools/collect_fresh_networks.sh [OUT_DIR]   (keep the other core idle)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-milan-2c/fresh}
mkdir -p "$out"
export JOULECAST_HEAP=reserve
net() {  # MODE ARCH BATCHES
  build/joulecast collect --architecture "$2" -b "$3" --mode "$1" --threads 1 --min-seconds 1 \
    --min-repetitions 3 -q -o "$out/networks-$1.jsonl" || echo "failed: $1 $2 $3" >&2
}
for mode in forward train_step; do
  net "$mode" resnet50 1,8
  net "$mode" densenet121 1,8
  net "$mode" squeezenet1_0 1,8
  net "$mode" shufflenet_v2_x1_0 1,8
  net "$mode" efficientnet_b0 1,8
  net "$mode" mobilenet_v3_large 1,8
  net "$mode" convnext_tiny 1
  net "$mode" vit_b_16 1
done
