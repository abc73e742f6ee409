#!/usr/bin/env bash
# Measures this project's CPU evaluation sets again under the collector's heap policy "keep"
# (collect/heap.h; the collector's default since 2026-12-05), into OUT_DIR (default
# data/collect/epyc-2c/keep): the frozen training steps (tools/collect_freeze.sh, two more
# resnet18 rounds), the bfloat16/float32 pairs (tools/collect_bf16.sh, and mobilenet_v2's forward
# pass, whose training step has no bfloat16 kernel here), the six modern networks and the ten
# older zoo networks at the batch sizes of data/collect/epyc-2c/*networks-*.jsonl. Whole networks
# with --min-seconds 1 --min-repetitions 3, one libtorch thread. About 45 minutes; keep the other
# core idle (run it as `taskset -c 0 tools/collect_keep_heap.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-2c/keep}
mkdir -p "$out"
tools/collect_freeze.sh "$out/freeze"
graphs="$out/freeze/graphs"
for round in 3 4; do
  for frozen in "" conv1,bn1,layer1,layer2,layer3,layer4 conv1,bn1,layer1,layer2; do
    build/joulecast collect --architecture "$graphs/resnet18.json" -b 8 --mode train_step \
      --threads 1 --min-seconds 3 --min-repetitions 3 -q -o "$out/freeze/round$round.jsonl" \
      ${frozen:+--freeze "$frozen"}
  done
done
tools/collect_bf16.sh "$out/bf16"
for round in 1 2; do
  for dtype in float32 bfloat16; do
    build/joulecast collect --architecture mobilenet_v2 -b 8 --dtype "$dtype" --threads 1 \
      --min-seconds 3 --min-repetitions 3 -q -o "$out/bf16/networks-round$round.jsonl"
  done
done
net() {  # MODE FILE ARCH BATCHES [collect options...]
  local mode=$1 file=$2 arch=$3 batches=$4
  shift 4
  build/joulecast collect --architecture "$arch" -b "$batches" --mode "$mode" --threads 1 \
    --min-seconds 1 --min-repetitions 3 -q -o "$file" "$@"
}
for mode in forward train_step; do
  f="$out/modern-networks-$mode.jsonl"
  net "$mode" "$f" efficientnet_b0 1,8,32
  net "$mode" "$f" mobilenet_v3_large 1,8,32
  net "$mode" "$f" convnext_tiny 1,8
  net "$mode" "$f" vit_b_16 1
  net "$mode" "$f" bert-base-uncased 1 --seq-len 128
  net "$mode" "$f" gpt2 1 --seq-len 256
done
for mode in forward train_step; do
  f="$out/networks-$mode.jsonl"
  for n in alexnet vgg11 resnet18 mobilenet_v2; do net "$mode" "$f" "$n" 1,8,32; done
  if [ "$mode" = forward ]; then
    for n in resnet34 squeezenet1_0 shufflenet_v2_x1_0 densenet121 resnet50 vgg16; do
      net "$mode" "$f" "$n" 1,8
    done
  fi
done
