#!/usr/bin/env bash
# Measures, on this machine, three zoo networks whole in float32 and in bfloat16 (every tensor and
# parameter in that dtype, as `collect --dtype` runs them), forward and training step, batch 8,
# one libtorch thread: the measured bfloat16/float32 saving that `predict --dtype` is checked
# against. Two rounds, each to its own file (a store skips a configuration it holds).
# (mobilenet_v2 cannot train in bfloat16 with Debian's libtorch 1.13: its ReLU6's backward,
# "hardshrink_backward_cpu", is not implemented for BFloat16.)
# Keep the other core idle while it runs.
#   tools/collect_bf16.sh [OUT_DIR]     (default data/collect/epyc-2c/bf16)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-2c/bf16}
mkdir -p "$out"
for round in 1 2; do
  f="$out/networks-round$round.jsonl"
  for mode in forward train_step; do
    for net in resnet18 vgg11 alexnet; do
      for dtype in float32 bfloat16; do
        build/joulecast collect --architecture "$net" -b 8 --mode "$mode" --dtype "$dtype" \
          --threads 1 --min-seconds 3 --min-repetitions 3 -o "$f"
      done
    done
  done
done
