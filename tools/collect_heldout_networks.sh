#!/usr/bin/env bash
# Seven zoo networks this project had never measured, chosen (2026-12-05 19:33 UTC) before any was
# measured or predicted: the held-out check of models/amd-epyc-2c-reserve-time.json, whose
# configurations are random and whose evaluation networks are the six modern and ten older ones.
# Forward passes and training steps at batch 1 (and 8 for the three small ones), under the reserve
# heap, one libtorch thread; about 15 minutes.
#
#   taskset -c 0 tools/collect_heldout_networks.sh [OUT_DIR]   (keep the other core idle)
#
# then `build/joulecast evaluate --model models/amd-epyc-2c-reserve-time.json OUT_DIR/networks-*.jsonl`.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-2c/reserve/heldout}
mkdir -p "$out"
export JOULECAST_HEAP=${HEAP:-reserve}  # HEAP=keep: the collector's default
net() {  # MODE ARCH BATCHES
  build/joulecast collect --architecture "$2" -b "$3" --mode "$1" --threads 1 --min-seconds 1 \
    --min-repetitions 3 -q -o "$out/networks-$1.jsonl" || echo "failed: $1 $2 $3" >&2
}
# NETS (ARCH:BATCHES, space-separated) replaces the seven (tools/collect_fresh_networks.sh);
# MODES (default "forward train_step") and HEAP (default reserve) may be set too.
NETS=${NETS:-regnet_y_400mf:1,8 mnasnet1_0:1,8 mobilenet_v3_small:1,8 efficientnet_b1:1 swin_t:1
vit_b_32:1 maxvit_t:1}
for mode in ${MODES:-forward train_step}; do
  for n in $NETS; do
    net "$mode" "${n%%:*}" "${n#*:}"
  done
done
