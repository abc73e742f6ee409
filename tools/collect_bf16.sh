#!/usr/bin/env bash
# Measures, on this machine, zoo networks whole in float32 and in bfloat16 (every tensor and
# parameter in that dtype, as `collect --dtype` runs them), batch 8, one libtorch thread: the
# measured bfloat16/float32 saving that `predict --dtype` is checked against. resnet18, vgg11 and
# alexnet forward and training step; mobilenet_v2 forward only (it cannot train in bfloat16 with
# Debian's libtorch 1.13: its ReLU6's backward, "hardshrink_backward_cpu", is not implemented for
# BFloat16). ROUNDS rounds, each to its own file (a store skips a configuration it holds); the
# heap policy from JOULECAST_HEAP (collect's --heap). Keep the other core idle while it runs.
#   tools/collect_bf16.sh [OUT_DIR] [ROUNDS]   (default data/collect/epyc-2c/bf16, 2 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-2c/bf16}
rounds=${2:-2}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  f="$out/networks-round$round.jsonl"
  for mode in forward train_step; do
    nets="resnet18 vgg11 alexnet"
    [[ $mode == forward ]] && nets="$nets mobilenet_v2"
    for net in $nets; do
      for dtype in float32 bfloat16; do
        build/joulecast collect --architecture "$net" -b 8 --mode "$mode" --dtype "$dtype" \
          --threads 1 --min-seconds 3 --min-repetitions 3 -o "$f"
      done
    done
  done
done
