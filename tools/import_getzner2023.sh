#!/usr/bin/env bash
# Converts the getzner2023 CodeCarbon measurements (../shared/datasets/getzner2023/raw) into
# joulecast records under data/getzner2023/, applying the published Slurm-log cleaning rule.
#   random/       random layer configurations: the ONLY data the shipped profile is fitted on
#   validation/   layers of AlexNet/VGG (architecture-config files and layerwise files) and whole
#                 networks: evaluation only, never fitting
# Usage: tools/import_getzner2023.sh [JOULECAST_BINARY] [DATASET_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/joulecast}
raw=${2:-../shared/datasets/getzner2023}/raw
src="getzner2023: Getzner, Charpentier, Günnemann, ICLR 2023 CCAI workshop; JohannesGetzner/dl-energy-estimator@2279b0a5617f"
out=data/getzner2023
mkdir -p $out/random $out/validation
imp() { "$bin" import codecarbon --source "$src" "$@"; }
for l in conv2d linear maxpool2d; do
  imp $raw/$l/00_$l-raw.csv $raw/$l/02_$l-raw.csv \
      --slurm-log $raw/$l/00_$l-slurm-log.out --slurm-log $raw/$l/02_$l-slurm-log.out -o $out/random/$l.jsonl
  imp $raw/$l/01_$l-architecture-configs-raw.csv \
      --slurm-log $raw/$l/01_$l-architecture-configs-slurm-log.out -o $out/validation/$l-architecture-configs.jsonl
done
a=$raw/activations
imp $a/00_relu-raw.csv $a/01_relu_raw.csv --slurm-log $a/00_activations-slurm-log.out \
    --slurm-log $a/01_relu-slurm-log.out -o $out/random/relu.jsonl
for l in sigmoid tanh softmax; do
  imp $a/00_$l-raw.csv --slurm-log $a/00_activations-slurm-log.out -o $out/random/$l.jsonl
done
for i in 00 01; do
  imp $raw/architectures/${i}_architectures-layerwise-raw.csv \
      --slurm-log $raw/architectures/${i}_architectures-layerwise-slurm-log.out -o $out/validation/layerwise-$i.jsonl
done
