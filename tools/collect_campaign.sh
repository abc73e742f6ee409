#!/usr/bin/env bash
# The measurement campaign behind models/intel-xeon-2c-time.json: time of random layer configurations
# of every layer type (forward and train_step), then whole networks to check the profile on.
#
#   tools/collect_campaign.sh [OUTDIR]        (default data/collect/ci-2c)
#
# Environment: JOULECAST (default build/joulecast; with the collector plugin next to it), CPU (the core to pin to, default 1: the other
# core is left to the rest of the machine), STAGES (default "1 2 3 4 5 6 7 8 9 10"), MODES (default
# "forward train_step"; "forward" measures the forward half of every stage only).
# One libtorch thread pinned to one core; each stage extends the random configurations of the
# previous one (sample i of a type is the same in every stage), and every collect call resumes, so
# rerunning this script after an interruption measures only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-data/collect/ci-2c}
JC=${JOULECAST:-build/joulecast}
# The stores under data/collect were measured under glibc's default heap, before the collector's
# heap policy existed (collect/heap.h): resuming them needs that policy. JOULECAST_HEAP=keep for a
# new campaign under the collector's default.
export JOULECAST_HEAP=${JOULECAST_HEAP:-default}
CPU=${CPU:-1}
STAGES=${STAGES:-1 2 3 4 5 6 7 8 9 10}
MODES=${MODES:-forward train_step}
mkdir -p "$OUT"

PROTOCOL=(--threads 1 --min-seconds 0.25 --min-repetitions 5 --warmup-seconds 0.1 --seed 0 -q)
BIG="Conv2d"
MID="MaxPool2d,AvgPool2d,BatchNorm2d,ReLU,Add"
# Linear on its own: at most 1e9 MACs per run (VGG's 25088x4096 layer up to batch 8), as a single
# thread with the reference BLAS runs ~0.8 GMAC/s on large weights and the default limit (2e10)
# would make one configuration take minutes.
LIN=(--layer Linear --max-macs 1e9)
SMALL="AdaptiveAvgPool2d,ReLU6,Sigmoid,Tanh,Softmax,Dropout,Cat,ChannelShuffle,Flatten,Identity"

layers() {  # layers MODE TYPES N
  taskset -c "$CPU" "$JC" collect --layer "$2" --samples "$3" --mode "$1" "${PROTOCOL[@]}" \
    -o "$OUT/layers-$1.jsonl"
}

linear() {  # linear MODE N
  taskset -c "$CPU" "$JC" collect "${LIN[@]}" --samples "$2" --mode "$1" "${PROTOCOL[@]}" \
    -o "$OUT/layers-$1.jsonl"
}

networks() {  # networks MODE ARCHS BATCHES
  taskset -c "$CPU" "$JC" collect --architecture "$2" --batch-size "$3" --mode "$1" \
    "${PROTOCOL[@]}" -o "$OUT/networks-$1.jsonl"
}

for stage in $STAGES; do
  echo "== stage $stage $(date -u +%H:%M:%S)"
  case $stage in
    1)
      for mode in $MODES; do
        layers $mode "$BIG" 60; layers $mode "$MID" 40; layers $mode "$SMALL" 20
        linear $mode 40
      done ;;
    2)
      for mode in $MODES; do
        networks $mode alexnet,vgg11,resnet18,mobilenet_v2 1,8,32
      done ;;
    3)
      for mode in $MODES; do
        layers $mode "$BIG" 200; layers $mode "$MID" 100; layers $mode "$SMALL" 40
        linear $mode 100
      done ;;
    4)
      # networks that are not in the target list, to check on what the campaign did not aim at
      for mode in $MODES; do
        networks $mode resnet34,squeezenet1_0,shufflenet_v2_x1_0,densenet121 1,8
      done ;;
    5)
      for mode in $MODES; do
        layers $mode "$BIG" 400; layers $mode "$MID" 160
      done ;;
    6)
      # repeatability: the same configurations measured again in separate processes, one file per
      # repetition (`joulecast spread $OUT/repeat/*.jsonl` reports the spread)
      mkdir -p "$OUT/repeat"
      for rep in 1 2 3 4 5; do
        taskset -c "$CPU" "$JC" collect --layer Conv2d,Linear,ReLU,BatchNorm2d --samples 3 \
          --mode forward "${PROTOCOL[@]}" -o "$OUT/repeat/layers-$rep.jsonl"
        taskset -c "$CPU" "$JC" collect --architecture resnet18,mobilenet_v2 --batch-size 1,8 \
          --mode forward "${PROTOCOL[@]}" -o "$OUT/repeat/networks-$rep.jsonl"
      done ;;
    7)
      # Linear at the large end (2e8 to 4e9 MACs per run), beyond stage 1/3's 1e9 cap: the first
      # classifier layers of VGG and AlexNet at batch 8 to 32 lie there, and the fit otherwise
      # extrapolates its time per MAC into them
      for mode in $MODES; do
        taskset -c "$CPU" "$JC" collect --layer Linear --min-macs 2e8 --max-macs 4e9 --samples 30 \
          --mode $mode "${PROTOCOL[@]}" -o "$OUT/layers-$mode.jsonl"
      done ;;
    8)
      # more random convolutions and mid-cost layers: Conv2d's time per MAC has cliffs (PyTorch's
      # algorithm choice, activations beyond the cache) that 400 samples over its ranges resolve poorly
      for mode in $MODES; do
        layers $mode "$BIG" 800; layers $mode "$MID" 320
      done ;;
    9)
      # pointwise (1x1) convolutions at batch 1 to 8, from the same ranges: one libtorch thread runs
      # the stride-1 ones below batch 16 as im2col + BLAS, a regime with a time per MAC of its own
      # (conv2d_v5's path trend), which stages 1-8 drew ~100 times per mode; real networks are full
      # of them (ResNet bottlenecks, MobileNet, ShuffleNet, SqueezeNet, DenseNet)
      for mode in $MODES; do
        taskset -c "$CPU" "$JC" collect --layer Conv2d --kernel-size 1 --batch-size 1,2,4,8 \
          --max-macs 2e9 --samples 200 --mode $mode "${PROTOCOL[@]}" -o "$OUT/layers-$mode.jsonl"
      done ;;
    10)
      # two networks measured last, looked at only once the profile was final and used to choose
      # nothing: a late check beside stages 2 and 4
      for mode in $MODES; do
        taskset -c "$CPU" "$JC" collect --architecture resnet50,vgg16 --batch-size 1,8 --mode $mode \
          "${PROTOCOL[@]}" -o "$OUT/heldout-networks-$mode.jsonl"
      done ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
echo "== done $(date -u +%H:%M:%S)"
