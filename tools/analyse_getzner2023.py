#!/usr/bin/env python3
"""Facts about data/getzner2023 quoted in the README and notes (standard library only).

- repeat spread: sample std / mean of the repetitions of one configuration, per layer type
- coverage of the random Conv2d set: 3x3 stride-1 configurations, channel counts in multiples of 16
- the step in the measured energy per sample of AlexNet/VGG's first conv (3->64, 3x3) with batch size

Usage: tools/analyse_getzner2023.py   (run from anywhere)
"""
import json
import pathlib
import statistics

root = pathlib.Path(__file__).resolve().parent.parent / "data" / "getzner2023"


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


print("repeat spread (std/mean of the repetitions, %):")
for t in ["conv2d", "linear", "maxpool2d", "relu", "sigmoid", "tanh", "softmax"]:
    rs = records(root / "random" / f"{t}.jsonl")
    cv = sorted(100 * r["energy_j_std"] / r["energy_j"] for r in rs
                if r.get("energy_j_std") is not None and r["energy_j"] > 0)
    p90 = cv[int(0.9 * (len(cv) - 1))]
    print(f"  {t:10s} n={len(rs):4d} mean {statistics.mean(cv):5.1f}  median {statistics.median(cv):4.1f}  p90 {p90:5.1f}")

conv = records(root / "random" / "conv2d.jsonl")
k3s1 = [r for r in conv if r["params"]["kernel_size"] == [3, 3] and r["params"]["stride"] == [1, 1]]
both16 = [r for r in conv if r["input_shape"][0] % 16 == 0 and r["params"]["out_channels"] % 16 == 0]
print(f"random Conv2d: {len(conv)} configurations, {len(k3s1)} with kernel 3x3 and stride 1, "
      f"{len(both16)} with both channel counts multiples of 16")

first = []
for f in ["layerwise-00.jsonl", "layerwise-01.jsonl"]:
    for r in records(root / "validation" / f):
        p = r["params"]
        if (r["type"] == "Conv2d" and r["input_shape"] == [3, 224, 224] and p["out_channels"] == 64
                and p["kernel_size"] == [3, 3]):
            first.append((r["batch_size"], r["energy_j"] / r["batch_size"]))
first.sort()
print("VGG first conv (3->64, 3x3, 224x224), measured J per sample by batch size:")
print("  " + ", ".join(f"{b}: {e:.4f}" for b, e in first))
