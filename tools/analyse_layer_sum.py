#!/usr/bin/env python3
"""How much of a network's measured time the sum of its layers, each measured alone, explains.

For each (network, batch size) of data/collect/ci-2c/networks-MODE.jsonl this sums the records of
data/collect/ci-2c/netlayers-MODE.jsonl (the network's distinct layers measured one by one with
`joulecast collect --configs-from`) over every operation of the network (`joulecast predict
--per-layer --json` lists them; a repeated layer is matched to its one record by type, output
shape and MAC count) and prints that sum's error against the whole network's measured time beside
the error of the profile's prediction. The sum is what a perfect per-layer predictor would
predict: its error is the floor of any layer-wise sum on this machine.

    python3 tools/analyse_layer_sum.py [--joulecast build/joulecast] [--model models/intel-xeon-2c-time.json]
"""
import argparse
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "collect", "ci-2c")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--joulecast", default=os.path.join(ROOT, "build", "joulecast"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "intel-xeon-2c-time.json"))
    args = ap.parse_args()
    for mode in ("forward", "train_step"):
        layer_path = os.path.join(DATA, f"netlayers-{mode}.jsonl")
        if not os.path.exists(layer_path):
            print(f"{mode}: no {layer_path}")
            continue
        index = collections.defaultdict(list)
        for r in load(layer_path):
            key = (r["type"], tuple(r["context"]["output_shape"]), round(r["macs"]), r["batch_size"])
            index[key].append(r)
        nets = {(r["context"]["architecture"], r["batch_size"]): r["duration_s"]
                for r in load(os.path.join(DATA, f"networks-{mode}.jsonl"))}
        sum_err, prof_err = [], []
        print(f"mode {mode}: seconds per pass of the batch; error vs the network measured whole")
        print(f"{'network':14s} {'batch':>5s} {'measured':>9s} {'layer sum':>9s} {'error %':>8s}"
              f" {'profile':>9s} {'error %':>8s}")
        for (arch, batch), measured in sorted(nets.items()):
            if not any(k[3] == batch for k in index):
                continue
            out = subprocess.run([args.joulecast, "predict", arch, "--model", args.model, "-b",
                                  str(batch), "--mode", mode, "--per-layer", "--json"],
                                 capture_output=True, text=True, check=True).stdout
            pred = json.loads(out)
            total, missing = 0.0, 0
            for op in pred["layers"]:
                key = (op["type"], tuple(op["output_shape"]), round(op["macs"]), batch)
                recs = index.get(key)
                if not recs:
                    missing += 1
                    continue
                # Records of one key are the same configuration (the collector measured it once),
                # unless two configurations share type, output and MACs: then average them.
                total += sum(r["duration_s"] for r in recs) / len(recs)
            if missing:
                continue  # this network's layers were not measured at this batch size
            e_sum = 100 * (total / measured - 1)
            e_prof = 100 * (pred["total_s"] / measured - 1)
            sum_err.append(abs(e_sum))
            prof_err.append(abs(e_prof))
            print(f"{arch:14s} {batch:5d} {measured:9.4f} {total:9.4f} {e_sum:+8.1f}"
                  f" {pred['total_s']:9.4f} {e_prof:+8.1f}")
        if sum_err:
            print(f"MAPE over {len(sum_err)}: sum of layers measured alone "
                  f"{sum(sum_err) / len(sum_err):.2f} %, profile {sum(prof_err) / len(prof_err):.2f} %\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
