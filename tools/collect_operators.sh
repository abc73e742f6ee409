#!/usr/bin/env bash
# The operator campaign of a machine's forward/train_step time profile (issue 18): random
# configurations of the operator types of modern networks (config_sampler.h documents their
# ranges), Linear and Softmax with their token inputs, then the whole modern networks to evaluate
# the profile on (never fitted on).
#
#   tools/collect_operators.sh [OUTDIR]        (default data/collect/epyc-2c)
#
# Environment: JOULECAST (default build/joulecast), CPU (core to pin to, default 0), N (samples
# per type, default 120), MODES (default "forward"), NETWORKS (default 1: measure the networks),
# NETOPS (default 1: measure the networks' operators one by one).
# One libtorch thread; every collect call resumes, so a rerun measures only what is missing, and
# a larger N extends the same configurations.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-data/collect/epyc-2c}
JC=${JOULECAST:-build/joulecast}
# The stores under data/collect were measured under glibc's default heap, before the collector's
# heap policy existed (collect/heap.h): resuming them needs that policy. JOULECAST_HEAP=keep for a
# new campaign under the collector's default.
export JOULECAST_HEAP=${JOULECAST_HEAP:-default}
CPU=${CPU:-0}
N=${N:-120}
MODES=${MODES:-forward}
NETWORKS=${NETWORKS:-1}
mkdir -p "$OUT"
PROTOCOL=(--threads 1 --min-seconds 0.2 --min-repetitions 5 --warmup-seconds 0.1 --seed 0 -q)
# At most 5e9 MACs per run (ViT-B's attention at batch 8 is 4.2e9): with the reference BLAS one
# thread runs 1-2 GMAC/s, and the default limit would make one configuration take a minute.
OPS="LayerNorm,GELU,SiLU,Hardswish,Hardsigmoid,Mul,MatMul,MultiheadAttention,ScaledDotProductAttention,Embedding,Softmax,Einsum,Clamp,Exp,Div"
for mode in $MODES; do
  taskset -c "$CPU" "$JC" collect --layer "$OPS" --samples "$N" --max-macs 5e9 --mode "$mode" \
    "${PROTOCOL[@]}" -o "$OUT/operators-$mode.jsonl"
  # Linear as in tools/collect_campaign.sh (at most 1e9 MACs), now with token inputs.
  taskset -c "$CPU" "$JC" collect --layer Linear --samples "$N" --max-macs 1e9 --mode "$mode" \
    "${PROTOCOL[@]}" -o "$OUT/operators-$mode.jsonl"
  if [ "$NETWORKS" = 1 ]; then
    NET=(--threads 1 --min-seconds 1 --min-repetitions 3 --warmup-seconds 0.1 -q --mode "$mode")
    taskset -c "$CPU" "$JC" collect --architecture efficientnet_b0,mobilenet_v3_large -b 1,8 \
      "${NET[@]}" -o "$OUT/modern-networks-$mode.jsonl"
    taskset -c "$CPU" "$JC" collect --architecture convnext_tiny,vit_b_16 -b 1 \
      "${NET[@]}" -o "$OUT/modern-networks-$mode.jsonl"
    # Batch 32 where one step takes under a minute here (ViT-B, BERT and GPT-2 run their
    # matrix products on the reference BLAS at ~1 GMAC/s: ViT-B alone takes 9 s at batch 1).
    taskset -c "$CPU" "$JC" collect --architecture efficientnet_b0,mobilenet_v3_large -b 32 \
      "${NET[@]}" -o "$OUT/modern-networks-$mode.jsonl"
    taskset -c "$CPU" "$JC" collect --architecture convnext_tiny -b 8 \
      "${NET[@]}" -o "$OUT/modern-networks-$mode.jsonl"
    taskset -c "$CPU" "$JC" collect --architecture bert-base-uncased --seq-len 128 -b 1 \
      "${NET[@]}" -o "$OUT/modern-networks-$mode.jsonl"
    taskset -c "$CPU" "$JC" collect --architecture gpt2 --seq-len 256 -b 1 \
      "${NET[@]}" -o "$OUT/modern-networks-$mode.jsonl"
  fi
done
# The modern networks' own operators, measured one by one (evaluation only: tools/analyse_op_sum.py
# sums them over each network, what a perfect per-operator predictor would predict).
if [ "${NETOPS:-1}" = 1 ]; then
  for mode in $MODES; do
    taskset -c "$CPU" "$JC" collect --configs-from efficientnet_b0,mobilenet_v3_large -b 1,8 \
      --mode "$mode" "${PROTOCOL[@]}" -o "$OUT/modern-netops-$mode.jsonl"
    taskset -c "$CPU" "$JC" collect --configs-from convnext_tiny,vit_b_16 -b 1 \
      --mode "$mode" "${PROTOCOL[@]}" -o "$OUT/modern-netops-$mode.jsonl"
  done
fi
