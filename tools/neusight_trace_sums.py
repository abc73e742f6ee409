#!/usr/bin/env python3
"""How far the sum of a NeuSight label's own torch.fx trace is from the label: for every
single-GPU training label (labels/<GPU>/<model>-train-<seq>-<batch>.csv beside its .json), the
trace's nodes (forward + backward latency, the transformer block's nodes times num_layer) summed
against e2e_latency, and the trace's forward sum against fw_latency. A floor for any predictor
that sums operators: the trace times every node in place.

    tools/neusight_trace_sums.py [../shared/datasets/neusight2025/labels]
"""
import csv
import glob
import json
import os
import statistics
import sys


def in_block(meta):
    return "layer.0" in meta or ".h.0" in meta or "layers.0" in meta


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets",
        "neusight2025", "labels")
    by_gpu = {}
    for path in sorted(glob.glob(os.path.join(root, "*", "*-train-*.csv"))):
        if any(s in os.path.basename(path) for s in ("dp4", "tp4", "pp4", "fusion", "switch")):
            continue
        with open(path[:-4] + ".json") as f:
            label = json.load(f)
        layers = label["num_layer"]
        fw = bw = 0.0
        with open(path) as f:
            for r in csv.DictReader(f):
                k = layers if in_block(r["meta"]) else 1
                fw += k * float(r["fw_latency"] or 0)
                bw += k * float(r["bw_latency"] or 0)
        err = 100 * ((fw + bw) / label["e2e_latency"] - 1)
        fw_ratio = label["fw_latency"] / fw if fw > 0 else float("nan")
        gpu = os.path.basename(os.path.dirname(path))
        by_gpu.setdefault(gpu, []).append(err)
        print(f"{gpu:24s} {os.path.basename(path)[:-4]:28s} trace sum {err:+6.1f} % of e2e; "
              f"label forward / trace forward {fw_ratio:.2f}")
    for gpu, errs in by_gpu.items():
        print(f"{gpu:24s} n {len(errs)}  MAPE of the trace sum "
              f"{statistics.mean(abs(e) for e in errs):.1f} %")


if __name__ == "__main__":
    main()
