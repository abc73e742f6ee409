#!/usr/bin/env python3
"""A GPU training step's two parts, measured against predicted: for every NVIDIA training label
that times forward and backward apart (NeuSight's fwd_bwd rows, our H200's train rows), the
label's forward and backward milliseconds beside the predicted forward and backward phases, their
ratios, and the label's forward milliseconds per predicted forward kernel (a host-bound forward
shows as a high ratio at small batch). Reads `joulecast gpu-ops networks --json`, which builds each
label's model as the label ran it (BERT's heads, optimizer none).

    python3 tools/gpu_label_phases.py [--model models/gpu-latency.json]
"""
import argparse
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/gpu-latency.json")
    a = ap.parse_args()
    out = subprocess.run([str(ROOT / "build/joulecast"), "gpu-ops", "networks", "--json",
                          "--model", a.model], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    for r in json.loads(out)["rows"]:
        fw, bw = r["measured_forward_s"], r["measured_backward_s"]
        if r["mode"] != "train_step" or fw is None or bw is None or r["gpu"].startswith("MI"):
            continue
        pf, pb = r["phases"]["forward"], r["phases"]["backward"]
        print(f"{r['gpu']:16s} {r['model']:11s} {r['seq_len']:5d} {r['batch']:2d}  forward "
              f"{fw * 1e3:8.1f} ms, predicted {pf['s'] * 1e3:8.1f} ({fw / pf['s']:4.2f}x), "
              f"{fw * 1e6 / pf['kernels']:6.1f} us per kernel | backward {bw * 1e3:8.1f} ms, "
              f"predicted {pb['s'] * 1e3:8.1f} ({bw / pb['s']:4.2f}x)")


if __name__ == "__main__":
    main()
