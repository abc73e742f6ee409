#!/usr/bin/env bash
# Eight zoo networks never measured on the family 25 model 1 AMD EPYC (Zen 3) VM, chosen on
# 2026-12-06 at 13:23 UTC before any of them was measured there or a calibration change was tried:
# a fresh test set for calibration (README, "To a CPU model never measured before"), since the
# eleven networks measured there earlier had been seen while working on calibration. None of them,
# nor its layers, is in the calibration stores (random configurations only). Forward passes and
# training steps at batch 1 and 8 (1 for the two largest), under the reserve heap, one libtorch
# thread; about 15 minutes (13:23–13:37 UTC on 2026-12-06).
#
#   taskset -c 0 tools/collect_fresh_networks.sh [OUT_DIR]   (keep the other core idle)
set -uo pipefail
cd "$(dirname "$0")/.."
NETS="resnet50:1,8 densenet121:1,8 squeezenet1_0:1,8 shufflenet_v2_x1_0:1,8 efficientnet_b0:1,8 \
mobilenet_v3_large:1,8 convnext_tiny:1 vit_b_16:1" \
  exec tools/collect_heldout_networks.sh "${1:-data/collect/epyc-milan-2c/fresh}"
