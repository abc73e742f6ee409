#!/usr/bin/env bash
# Eleven zoo networks never measured on the family 25 model 1 AMD EPYC (Zen 3) VM, chosen on
# 2026-12-07 at 01:38 UTC, before any of them was measured or scored there, to check a
# calibration change (calibrate --fresh-page-time remove, README "A profile for a new machine in
# minutes") that was chosen after looking at the older networks' errors: the four older, seven
# held-out and eight fresh networks had all been seen by then. None of them, nor its layers, is in
# the calibration stores (random configurations only). Forward passes at batch 1, 8 and 32 (32
# brings the activations of 32 MiB and more whose fresh pages the change is about), the
# collector's default heap (keep), one libtorch thread; about 6 minutes a round.
#
#   flock /tmp/joulecast-cpu.lock taskset -c 0 tools/collect_unseen_networks.sh ROUND [OUT_DIR]
#   (keep the other core idle; OUT_DIR defaults to data/collect/epyc-milan-2c/keep/unseen-ROUND)
# HEAP=reserve measures them on a heap grown first, as profiles predict (no fresh pages: the
# README's "Large activations and glibc's malloc"), by default into
# data/collect/epyc-milan-2c/unseen/roundROUND, beside the reserve rounds of the other sets.
set -uo pipefail
cd "$(dirname "$0")/.."
round=${1:?usage: tools/collect_unseen_networks.sh ROUND [OUT_DIR]}
NETS="resnet34:1,8,32 googlenet:1,8,32 regnet_x_400mf:1,8,32 mnasnet0_5:1,8,32 \
squeezenet1_1:1,8,32 shufflenet_v2_x0_5:1,8,32 resnext50_32x4d:1,8,32 efficientnet_b2:1,8,32 \
vgg13_bn:1,8,32 densenet169:1,8,32 regnet_y_800mf:1,8,32"
heap=${HEAP:-keep}
default_out=data/collect/epyc-milan-2c/keep/unseen-$round
[ "$heap" = reserve ] && default_out=data/collect/epyc-milan-2c/unseen/round$round
[ "$heap" = keep ] || [ "$heap" = reserve ] || [ -n "${2:-}" ] ||
  { echo "collect_unseen_networks.sh: HEAP=$heap needs OUT_DIR" >&2; exit 2; }
NETS=$NETS HEAP=$heap MODES=forward exec tools/collect_heldout_networks.sh "${2:-$default_out}"
