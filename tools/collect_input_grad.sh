#!/usr/bin/env bash
# The input-gradient campaign of a machine's time profile (issue 20): the parameterised operator
# types measured in mode input_grad (forward and the gradient of the activation input, parameters
# frozen), the same random configurations as their train_step records (seed 0, same sampler), so
# that `fit` gives the profile the part of a step that a frozen layer keeps
# (predict/frozen_step.h). Parameter-free types need no such records: their train_step is already
# forward + input gradient.
#
#   tools/collect_input_grad.sh [OUTDIR]        (default data/collect/epyc-2c)
#
# Environment: JOULECAST (default build/joulecast), CPU (core to pin to, default 0).
# One libtorch thread; resumes like every collect call. Keep the other core idle while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-data/collect/epyc-2c}
JC=${JOULECAST:-build/joulecast}
# The stores under data/collect were measured under glibc's default heap, before the collector's
# heap policy existed (collect/heap.h): resuming them needs that policy. JOULECAST_HEAP=keep for a
# new campaign under the collector's default.
export JOULECAST_HEAP=${JOULECAST_HEAP:-default}
CPU=${CPU:-0}
mkdir -p "$OUT"
f="$OUT/operators-input_grad.jsonl"
P=(--mode input_grad --threads 1 --min-seconds 0.2 --min-repetitions 5 --warmup-seconds 0.1 --seed 0 -q -o "$f")
taskset -c "$CPU" "$JC" collect --layer BatchNorm2d,LayerNorm --samples 40 "${P[@]}"
taskset -c "$CPU" "$JC" collect --layer Linear --samples 80 --max-macs 1e9 "${P[@]}"
taskset -c "$CPU" "$JC" collect --layer Conv2d --samples 160 "${P[@]}"
taskset -c "$CPU" "$JC" collect --layer Embedding --samples 20 "${P[@]}"
taskset -c "$CPU" "$JC" collect --layer MultiheadAttention --samples 30 --max-macs 5e9 "${P[@]}"
