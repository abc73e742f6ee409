#!/usr/bin/env bash
# The four older evaluation networks of issue 18's targets (alexnet, vgg11, resnet18,
# mobilenet_v2 at batch 1, 8 and 32) measured again as whole networks under the reserve heap, one
# libtorch thread: ROUNDS separate rounds (default 3) into OUT_DIR/roundK/networks-MODE.jsonl, so
# that `tools/median_record.py` can take each record's median over rounds minutes apart on a
# virtual machine whose speed drifts.
#
#   taskset -c 0 tools/collect_older_networks.sh [OUT_DIR] [MODES] [ROUNDS]   (other core idle)
#
# MODES defaults to "train_step"; then
# `build/joulecast evaluate --model models/amd-epyc-2c-reserve-time.json OUT_DIR/median-*.jsonl`.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-2c/reserve/night}
modes=${2:-train_step}
rounds=${3:-3}
export JOULECAST_HEAP=${HEAP:-reserve}  # HEAP=keep: the collector's default
for ((k = 1; k <= rounds; k++)); do
  mkdir -p "$out/round$k"
  for mode in $modes; do
    for arch in alexnet vgg11 resnet18 mobilenet_v2; do
      build/joulecast collect --architecture "$arch" -b 1,8,32 --mode "$mode" --threads 1 \
        --min-seconds 1 --min-repetitions 3 -q -o "$out/round$k/networks-$mode.jsonl" ||
        echo "failed: round $k $mode $arch" >&2
    done
  done
done
