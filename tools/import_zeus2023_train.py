#!/usr/bin/env python3
"""Converts ../shared/datasets/zeus2023/summary_train.csv into data/zeus2023/epochs_to_target.jsonl.

One JSON object per CSV row (format: data/README.md, "Epochs to target"): the epoch at which one
training run (dataset, network, batch size, optimizer, learning rate, run) first reached a
validation target, or null ("nan" in the CSV) when the run never reached it. The workload name
is looked up in data/workloads.json by its Zeus keys. The provenance source "zeus2023" is cited in
full in data/README.md. The metric direction is fixed per dataset (librispeech: word error rate,
lower is better; every other dataset: higher is better) and checked here: within each run, a
stricter target never needs fewer epochs, and is never reached when a looser one was not.

Usage: tools/import_zeus2023_train.py [DATASET_DIR]   (default ../shared/datasets/zeus2023)
"""
import collections
import csv
import json
import os
import sys

LOWER_IS_BETTER = {"librispeech"}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    raw = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "datasets",
                                                              "zeus2023")
    workloads = json.load(open(os.path.join(root, "data", "workloads.json")))["workloads"]
    by_keys = {(w["zeus"]["dataset"], w["zeus"]["network"]): w["name"]
               for w in workloads if "zeus" in w}
    path = os.path.join(raw, "summary_train.csv")
    shown = "../shared/datasets/zeus2023/summary_train.csv"
    out, runs = [], collections.defaultdict(list)
    with open(path, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            key = (row["dataset"], row["network"])
            if key not in by_keys:
                sys.exit(f"{path}:{line}: no workload in data/workloads.json for {key}")
            rec = {
                "kind": "epochs_to_target",
                "format_version": 1,
                "workload": by_keys[key],
                "dataset": row["dataset"],
                "network": row["network"],
                "batch_size": int(row["batch_size"]),
                "optimizer": row["optimizer"],
                "learning_rate": float(row["learning_rate"]),
                "run": int(row["run"]),
                "target_metric": float(row["target_metric"]),
                "higher_is_better": row["dataset"] not in LOWER_IS_BETTER,
                # "nan" in the CSV: the run never reached this target.
                "target_epoch": (None if row["target_epoch"] == "nan"
                                 else int(row["target_epoch"])),
                "provenance": {"source": "zeus2023", "file": shown, "line": line},
            }
            out.append(rec)
            runs[(key, rec["batch_size"], rec["optimizer"], row["learning_rate"],
                  rec["run"])].append(rec)
    for k, recs in runs.items():
        sign = 1 if recs[0]["higher_is_better"] else -1
        recs = sorted(recs, key=lambda r: sign * r["target_metric"])
        for a, b in zip(recs, recs[1:]):
            if a["target_epoch"] is None and b["target_epoch"] is not None:
                sys.exit(f"{path}:{b['provenance']['line']}: stricter target reached while "
                         f"line {a['provenance']['line']} was not, for {k}")
            if None in (a["target_epoch"], b["target_epoch"]):
                continue
            if b["target_epoch"] < a["target_epoch"]:
                sys.exit(f"{path}:{b['provenance']['line']}: stricter target reached earlier "
                         f"than line {a['provenance']['line']}: metric direction wrong for {k}")
    dst = os.path.join(root, "data", "zeus2023", "epochs_to_target.jsonl")
    with open(dst, "w") as f:
        for rec in out:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
    print(f"{dst}: {len(out)} records, {len(runs)} runs")


if __name__ == "__main__":
    main()
