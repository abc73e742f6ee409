#!/usr/bin/env bash
# Linear layers with large weights (at least 16M: AlexNet's 4096x4096 and 9216x4096, VGG's
# 25088x4096 classifiers lie there) at every batch size, up to 4e9 MACs per run: random
# configurations of the collector's sampler (`--min-parameters`, config_sampler.h), not the
# networks' own layers. The calibration plan behind reserve/calibration-fp32-all.jsonl leaves out
# draws its base expects to take over a second, and its random draws rarely reach these weights:
# it has 6 training steps of Linear above 8M weights, none above 25M, where a training step's
# weight gradient and SGD update of the whole weight cost at any batch.
#
#   taskset -c 0 tools/collect_large_linear.sh [DIR] [N]     (keep the other core idle)
#
# DIR default data/collect/epyc-2c/reserve/campaign (stores linear-large-MODE.jsonl), N the
# configurations per mode (default 40; resumes). The operator campaign's protocol, reserve heap.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-data/collect/epyc-2c/reserve/campaign}
N=${2:-40}
JC=${JOULECAST:-build/joulecast}
export JOULECAST_HEAP=${JOULECAST_HEAP:-reserve}
PROTOCOL=(--threads 1 --min-seconds 0.2 --min-repetitions 5 --warmup-seconds 0.1 --seed 0 -q)
mkdir -p "$OUT"
for mode in ${MODES:-train_step forward input_grad}; do
  echo "== $mode $(date -u +%H:%M:%S)"
  flock /tmp/joulecast-cpu.lock "$JC" collect --layer Linear --min-parameters 1.6e7 --max-macs 4e9 \
    --samples "$N" --mode "$mode" "${PROTOCOL[@]}" -o "$OUT/linear-large-$mode.jsonl"
done
echo "== done $(date -u +%H:%M:%S)"
