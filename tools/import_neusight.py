#!/usr/bin/env python3
"""Converts NeuSight's operator latencies (../shared/datasets/neusight2025/op_latency) into the
compact tables under data/neusight2025/ that `joulecast gpu-ops` reads.

Source: Lee et al., "NeuSight: Forecasting GPU Performance for Deep Learning Training and
Inference" (ASPLOS 2025), github.com/sitar-lab/NeuSight commit 6945927, scripts/asplos/, MIT
licence. Measured with PyTorch 2.1, CUDA 12.1, float32 (TF32 off), latency in ms (CUDA events).

Kept per row: the GPU (the Device column, as data/hardware/gpus.json names it), the operator's shape columns and the latency (6
significant digits). Dropped: the kernel columns (launch configuration PyTorch chose: information
about the measurement, not an input a user has), versions (one value each, stated in the README).

    tools/import_neusight.py [SOURCE_DIR] [OUT_DIR]
"""
import csv
import json
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "datasets", "neusight2025")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(__file__), "..", "data", "neusight2025")

SHAPES = {
    "linear": ["B", "M", "N", "K"],
    "bmm": ["B", "M", "N", "K"],
    "conv": ["B", "Input_Channel", "Output_Channel", "Kernel_Szie", "Input_Size", "Stride",
             "Padding"],
    "ln": ["B", "H"],
    "softmax": ["B", "H"],
}
ELEMENTWISE = ["add", "addu", "mul", "mulu", "div", "divu", "pow", "powu", "gelu", "relu", "tanh"]
for op in ELEMENTWISE:
    SHAPES[op] = ["B", "H"]
# Output names: the source's typo Kernel_Szie fixed, sizes named as the operator's arguments.
RENAME = {"Input_Channel": "in_channels", "Output_Channel": "out_channels",
          "Kernel_Szie": "kernel_size", "Input_Size": "input_size", "Stride": "stride",
          "Padding": "padding"}


# The Device column as data/hardware/gpus.json names the GPU.
GPUS = {"NVIDIA A100-PCIE-40GB": "A100 PCIe 40GB", "NVIDIA A100 80GB PCIe": "A100 PCIe 80GB",
        "NVIDIA L4": "L4", "Tesla P100-PCIE-16GB": "P100 PCIe 16GB", "Tesla P4": "P4",
        "Tesla T4": "T4", "Tesla V100-PCIE-32GB": "V100 PCIe 32GB"}
# The labels' folder names (whole transformers measured end to end) as gpus.json names them.
LABEL_GPUS = {"NVIDIA_A100-PCIE-40GB": "A100 PCIe 40GB", "NVIDIA_A100_80GB_PCIe": "A100 PCIe 80GB",
              "NVIDIA_A100-SXM4-40GB": "A100 SXM4 40GB", "NVIDIA_L4": "L4",
              "Tesla_P100-PCIE-16GB": "P100 PCIe 16GB", "Tesla_P4": "P4", "Tesla_T4": "T4",
              "Tesla_V100-PCIE-32GB": "V100 PCIe 32GB", "AMD_Instinct_MI100": "MI100",
              "AMD_Instinct_MI210": "MI210", "AMD_Instinct_MI250": "MI250 GCD"}


def rows_of(path):
    with open(path, newline="") as f:
        yield from csv.DictReader(f)


def write(path, op, cols, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["op", "gpu"] + [RENAME.get(c, c) for c in cols] + ["latency_ms"])
        n = 0
        for r in rows:
            lat = float(r["Latency"])
            if not lat > 0:
                raise SystemExit(f"{path}: non-positive latency in {r}")
            w.writerow([r["OPName"], GPUS[r["Device"]]] + [int(float(r[c])) for c in cols] +
                       [f"{lat:.6g}"])
            n += 1
    return n


def write_labels(path):
    """labels/<GPU>/<model>-<inf|train>-<seq>-<batch>.json -> one CSV row each: single-GPU,
    unfused runs only (the -dp4/-tp4/-pp4_1/-fusion variants and the MoE Switch model are
    left out). mode: forward (inf) or fwd_bwd (train: forward and backward, no optimizer step)."""
    d = os.path.join(SRC, "labels")
    rows = []
    for folder in sorted(os.listdir(d)):
        for name in sorted(os.listdir(os.path.join(d, folder))):
            m = re.fullmatch(r"([a-z0-9_]+)-(inf|train)-(\d+)-(\d+)\.json", name)
            if not m or m.group(1).startswith("switch"):
                continue
            with open(os.path.join(d, folder, name)) as f:
                lab = json.load(f)
            e2e, fw, bw = (float(lab[k]) for k in ("e2e_latency", "fw_latency", "bwall_latency"))
            if not e2e > 0:
                raise SystemExit(f"{folder}/{name}: non-positive e2e_latency")
            rows.append([LABEL_GPUS[folder], m.group(1),
                         "forward" if m.group(2) == "inf" else "fwd_bwd", m.group(3), m.group(4),
                         lab["num_layer"], f"{e2e:.6g}", f"{fw:.6g}", f"{bw:.6g}"])
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["gpu", "model", "mode", "seq_len", "batch", "num_layer", "e2e_ms", "fw_ms",
                    "bw_ms"])
        w.writerows(rows)
    return len(rows)


# Trace nodes that launch no kernel (a tensor's size, an index into it, a view): their latency
# in a trace is the host's cost of one eager PyTorch operation, the floor under any kernel in a
# stream.
HOST_ONLY = ("size", "getitem", "view", "permute", "transpose", "expand", "contiguous", "to")


def write_trace_floors(path):
    """labels/<GPU>/*.csv (torch.fx traces, single-GPU and unfused) -> per GPU: how many
    host-only nodes, and their median, 10th and 90th percentile latency (ms)."""
    d = os.path.join(SRC, "labels")
    rows = []
    for folder in sorted(os.listdir(d)):
        lat = []
        for name in sorted(os.listdir(os.path.join(d, folder))):
            if not name.endswith(".csv") or re.search(r"-(dp4|tp4|pp4_1|fusion)\.csv$", name) \
                    or name.startswith("switch"):
                continue
            for r in rows_of(os.path.join(d, folder, name)):
                if r["op"] not in ("call_method", "call_function"):
                    continue
                if not any(k in r["target"] for k in HOST_ONLY):
                    continue
                try:
                    v = float(r["latency"])
                except ValueError:
                    continue
                if v > 0:
                    lat.append(v)
        if not lat:
            continue
        lat.sort()
        rows.append([LABEL_GPUS[folder], len(lat), f"{lat[len(lat) // 2]:.6g}",
                     f"{lat[len(lat) // 10]:.6g}", f"{lat[9 * len(lat) // 10]:.6g}"])
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["gpu", "nodes", "median_ms", "p10_ms", "p90_ms"])
        w.writerows(rows)
    return len(rows)


def main():
    total = 0
    for op, cols in SHAPES.items():
        d = os.path.join(SRC, "op_latency", "train", op)
        rows = []
        for name in sorted(os.listdir(d)):
            rows.extend(rows_of(os.path.join(d, name)))
        total += write(os.path.join(OUT, "train", op + ".csv"), op, cols, rows)
    for name in ["linear", "bmm", "ln", "softmax", "elem"]:
        rows = list(rows_of(os.path.join(SRC, "op_latency", "test", name + ".csv")))
        cols = SHAPES["linear" if name in ("linear", "bmm") else "ln"]
        total += write(os.path.join(OUT, "test", name + ".csv"), name, cols, rows)
    print(f"{total} rows written under {OUT}")
    n = write_labels(os.path.join(OUT, "labels.csv"))
    print(f"{n} whole-transformer labels written to {os.path.join(OUT, 'labels.csv')}")
    n = write_trace_floors(os.path.join(OUT, "trace_floors.csv"))
    print(f"{n} GPUs' host-only trace nodes written to {os.path.join(OUT, 'trace_floors.csv')}")


if __name__ == "__main__":
    main()
