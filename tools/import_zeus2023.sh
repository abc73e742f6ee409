#!/usr/bin/env bash
# Converts the Zeus power traces (../shared/datasets/zeus2023/summary_power_<gpu>.csv) into
# training-run records under data/zeus2023/ (format: data/README.md, "Training-run records").
# The GPU models are those of the traces' power-limit ranges: V100 PCIe (100-250 W), Quadro RTX
# 6000 (100-260 W), P100 PCIe (125-250 W); specs in data/hardware/gpus.json.
# Usage: tools/import_zeus2023.sh [JOULECAST_BINARY] [DATASET_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/joulecast}
raw=${2:-../shared/datasets/zeus2023}
src="zeus2023: You, Chung, Chowdhury, Zeus, NSDI 2023; ml-energy/zeus@75a8b9398034 examples/research_reproducibility/zeus_nsdi23/trace"
out=data/zeus2023
mkdir -p $out
"$bin" import zeus "$raw/summary_power_v100.csv" --gpu "V100 PCIe 32GB" --source "$src" -o $out/v100.jsonl
"$bin" import zeus "$raw/summary_power_rtx6000.csv" --gpu "Quadro RTX 6000" --source "$src" -o $out/rtx6000.jsonl
"$bin" import zeus "$raw/summary_power_p100.csv" --gpu "P100 PCIe 16GB" --source "$src" -o $out/p100.jsonl
