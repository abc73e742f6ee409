#!/usr/bin/env bash
# One lease of a GPU machine, in one command: what this project measures when a GPU is lent.
# Runs on that machine (its PyTorch, its CUDA), from the repository root, and leaves everything in
# $OUT/measured.tar.gz (re-packed after each stage, so a run cut short still returns what it
# finished) and its log in $OUT/run.log. Reads clocks and power limits; never changes them.
#
#   GPU_NAME="H200 SXM 141GB" tools/measure_on_device.sh
#
# Stages, each under its own time limit (seconds, from the environment):
#   1. the collector (joulecast collect --device cuda --meter nvml) built against that machine's
#      libtorch (python3's torch) in the background, with the Debian headers this project builds
#      with carried in .devdeps/usr (Eigen, nlohmann-json, CLI11, fmt and libfmt.so.9);
#   2. tools/measure_gpu_reference.py: NeuSight's whole transformers (time and NVML energy), then
#      NeuSight's test-table operator shapes (REF_MODELS_S, REF_OPS_S);
#   3. the collector, when it built: whole zoo networks forward and training step, and the layers
#      of resnet50, with NVML energy (COLLECT_S in all).
set -u
GPU_NAME=${GPU_NAME:?name the GPU as data/hardware/gpus.json does}
REF_MODELS_S=${REF_MODELS_S:-150}
REF_OPS_S=${REF_OPS_S:-150}
COLLECT_S=${COLLECT_S:-120}
BUILD_JOBS=${BUILD_JOBS:-12}
OUT=${OUT:?OUT must name the folder that comes back}
W=/tmp/measured
mkdir -p "$W/collect"
exec > >(tee "$OUT/run.log") 2>&1
pack() { tar -C "$W" -czf "$OUT/measured.tar.gz.tmp" . && mv "$OUT/measured.tar.gz.tmp" "$OUT/measured.tar.gz"; }
stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

stamp "machine"
{ nvidia-smi; nvidia-smi -q -d POWER,CLOCK,PERFORMANCE; lscpu; uname -a; } > "$W/machine.txt" 2>&1
head -20 "$W/machine.txt"
pack

stamp "stage 1: building the collector in the background (nice, -j$BUILD_JOBS)"
export LD_LIBRARY_PATH="$PWD/.devdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
(
  nice -n 19 cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$PWD/.devdeps/usr;$TORCH_PREFIX" \
    -DJOULECAST_TESTS=OFF -DJOULECAST_BENCH=OFF -DJOULECAST_ONNX=OFF \
    -DJOULECAST_TORCHSCRIPT=OFF -DJOULECAST_TOOLS=OFF &&
  nice -n 19 cmake --build build-gpu -j "$BUILD_JOBS" && echo BUILD_OK
) > "$W/collector-build.log" 2>&1 &
BUILD_PID=$!

stamp "stage 2: reference measurements (transformers, then operator shapes)"
PYTHONUNBUFFERED=1 timeout $((REF_MODELS_S + REF_OPS_S + 60)) python3 tools/measure_gpu_reference.py \
  --gpu-name "$GPU_NAME" --out "$W/reference" \
  --models-seconds "$REF_MODELS_S" --ops-seconds "$REF_OPS_S"
echo "reference rc $?"
pack

stamp "stage 3: the collector"
wait "$BUILD_PID"
tail -5 "$W/collector-build.log"
J=build-gpu/joulecast
if grep -q BUILD_OK "$W/collector-build.log" && [ -x "$J" ]; then
  end=$((SECONDS + COLLECT_S))
  left() { echo $((end - SECONDS > 5 ? end - SECONDS : 5)); }
  common=(--device cuda --meter auto --min-seconds 1 --warmup-seconds 0.5 -q)
  timeout "$(left)" "$J" collect --architecture resnet50,vgg16,mobilenet_v2,alexnet,resnet18 \
    -b 32,128 --mode forward --idle-seconds 5 "${common[@]}" -o "$W/collect/networks-forward.jsonl"
  echo "collect networks forward rc $?"
  pack
  timeout "$(left)" "$J" collect --architecture resnet50,vgg16,mobilenet_v2,alexnet,resnet18 \
    -b 32,128 --mode train_step --idle-seconds 0 "${common[@]}" -o "$W/collect/networks-train_step.jsonl"
  echo "collect networks train_step rc $?"
  pack
  timeout "$(left)" "$J" collect --configs-from resnet50 -b 64 --mode forward --idle-seconds 0 \
    --device cuda --meter auto --min-seconds 0.3 --warmup-seconds 0.2 -q \
    -o "$W/collect/resnet50-layers-forward.jsonl"
  echo "collect resnet50 layers rc $?"
else
  echo "collector did not build: see collector-build.log"
fi
nvidia-smi -q -d POWER,CLOCK > "$W/machine-after.txt" 2>&1
pack
stamp "done"
ls -la "$W" "$W/reference" "$W/collect"
