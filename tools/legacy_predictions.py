#!/usr/bin/env python3
"""Records what a joulecast binary predicts for the tree-format zoo networks, as a fixture that the
tests hold later versions to (tests/data/legacy_predictions.json).

Written for the operator-graph redesign: the figures of the module-tree implementation (commit
89dcbdb, the last one before the graph) were recorded with its binary, and
tests/predict/legacy_parity_test.cpp checks that prediction over the graph gives the same totals,
MACs and parameters within 0.1 %.

Usage: tools/legacy_predictions.py JOULECAST_BINARY [-o tests/data/legacy_predictions.json]
(the binary is run from the repository root, so models/ and data/architectures/ are this tree's).
"""
import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETS = ["alexnet", "densenet121", "mobilenet_v2", "resnet101", "resnet152", "resnet18",
        "resnet34", "resnet50", "shufflenet_v2_x1_0", "squeezenet1_0", "vgg11", "vgg13", "vgg16",
        "vgg19"]
CASES = [("models/xeon-gold-5120.json", "forward"), ("models/intel-xeon-2c-time.json", "forward"),
         ("models/intel-xeon-2c-time.json", "train_step")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-o", default=os.path.join(REPO, "tests/data/legacy_predictions.json"))
    a = ap.parse_args()
    rows = []
    for model, mode in CASES:
        for net in NETS:
            for b in (1, 8, 64):
                out = subprocess.run([a.binary, "predict", net, "--model", model, "-b", str(b),
                                      "--mode", mode, "--json"], cwd=REPO, check=True,
                                     capture_output=True, text=True).stdout
                j = json.loads(out)
                total = j.get("total_j", j.get("total_s"))
                rows.append({"network": net, "model": model, "mode": mode, "batch": b,
                             "total": total, "macs": j["macs"], "parameters": j["parameters"]})
    with open(a.o, "w") as f:
        f.write('{"generated_by": "tools/legacy_predictions.py", "binary_commit": "89dcbdb",\n')
        f.write(' "predictions": [\n')
        f.write(",\n".join("  " + json.dumps(r) for r in rows))
        f.write("\n]}\n")
    print(f"{len(rows)} predictions -> {a.o}")


if __name__ == "__main__":
    sys.exit(main())
