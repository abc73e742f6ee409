#!/usr/bin/env python3
"""A GPU training step's two parts, measured against predicted: for every NVIDIA training label
that times forward and backward apart (data/neusight2025/labels.csv's fwd_bwd rows, our H200's
data/h200/models.jsonl train rows), the label's forward and backward milliseconds beside the
forward and backward phases of `joulecast predict CONFIG --gpu GPU --mode train_step --optimizer
none --json` (BERT as BertForPreTraining, as the labels ran it), their ratios, and the label's
forward milliseconds per predicted forward kernel (a host-bound forward shows as a high ratio at
small batch).

    python3 tools/gpu_label_phases.py [--model models/gpu-latency.json]
"""
import argparse
import csv
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def labels():
    with open(ROOT / "data/neusight2025/labels.csv") as f:
        for r in csv.DictReader(f):
            if r["mode"] == "fwd_bwd" and not r["gpu"].startswith("MI"):
                yield (r["gpu"], r["model"], int(r["seq_len"]), int(r["batch"]), float(r["fw_ms"]),
                       float(r["bw_ms"]))
    with open(ROOT / "data/h200/models.jsonl") as f:
        for line in f:
            d = json.loads(line)
            if d["kind"] == "train":
                yield (d["gpu"], d["model"], d["seq"], d["batch"], d["fw_latency_ms"],
                       d["bwall_latency_ms"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/gpu-latency.json")
    a = ap.parse_args()
    for gpu, model, seq, batch, fw, bw in labels():
        cmd = [str(ROOT / "build/joulecast"), "predict",
               f"data/neusight2025/model_configs/{model}.json", "--seq-len", str(seq), "-b",
               str(batch), "--gpu", gpu, "--mode", "train_step", "--model", a.model, "--json",
               "--optimizer", "none"]
        if model == "bert_large":
            cmd += ["--hf-architecture", "BertForPreTraining"]
        d = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True,
                                      cwd=ROOT).stdout)
        pf, pb = d["phases"]["forward"], d["phases"]["backward"]
        print(f"{gpu:16s} {model:11s} {seq:5d} {batch:2d}  forward {fw:8.1f} ms, predicted "
              f"{pf['s'] * 1e3:8.1f} ({fw / (pf['s'] * 1e3):4.2f}x), {fw * 1e3 / pf['kernels']:6.1f} "
              f"us per kernel | backward {bw:8.1f} ms, predicted {pb['s'] * 1e3:8.1f} "
              f"({bw / (pb['s'] * 1e3):4.2f}x)")


if __name__ == "__main__":
    main()
