#!/usr/bin/env python3
"""How far can the held-out GPU be predicted from the other two? (issue 5, leave-one-GPU-out)

Reads the training-run records of data/zeus2023/{p100,rtx6000,v100}.jsonl and, for every
(workload, batch size, optimizer) measured at each GPU's default (highest) power limit on all
three GPUs, prints:

1. the ratio of the held-out GPU's epoch time, average power and epoch energy to the same
   quantity on a reference built from the other two GPUs, per workload (median, min-max);
2. the MAPE that remains when the held-out quantity is predicted as  k x reference  with the
   single best constant k, found ON THE HELD-OUT GPU ITSELF (an oracle, so a lower bound, not a
   model), for three references: each other GPU alone and their geometric mean.

Any estimator in which the unseen GPU enters through one factor (a spec ratio to some power)
applied to per-workload curves learned on the other GPUs cannot beat line 2 on these rows: the
remaining error is the workload-to-workload spread of the ratios in line 1.

Usage: python3 tools/analyse_zeus2023_logo.py [DATA_DIR]   (default data/zeus2023)
Standard library only.
"""
import collections
import json
import math
import os
import statistics
import sys

GPUS = ["p100", "rtx6000", "v100"]
QUANTITIES = [("epoch_time_s", "time"), ("average_power_w", "power"), ("epoch_energy_j", "energy")]


def load(data_dir):
    top = {}  # (gpu, workload, batch, optimizer) -> the record at the highest power limit
    for g in GPUS:
        with open(os.path.join(data_dir, g + ".jsonl")) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r.get("kind") != "training_run":
                    continue
                k = (g, r["workload"], r["batch_size"], r.get("optimizer", ""))
                if k not in top or r["power_limit_w"] > top[k]["power_limit_w"]:
                    top[k] = r
    return top


def mape(pairs):
    return 100.0 * statistics.mean(abs(p - t) / t for t, p in pairs)


def oracle_constant(pairs):
    # MAPE is minimised by a weighted median of t/p; scan finely in log space instead (robust).
    best = min((mape([(t, p * math.exp(c / 1000.0)) for t, p in pairs]), c) for c in range(-2000, 2001, 5))
    return best[0], math.exp(best[1] / 1000.0)


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "data/zeus2023"
    top = load(data_dir)
    groups = sorted({k[1:] for k in top if all((g,) + k[1:] in top for g in GPUS)})
    print(f"{len(groups)} (workload, batch, optimizer) groups measured on all three GPUs at the "
          "default power limit\n")
    for q, label in QUANTITIES:
        print(f"== {label}: held-out / geometric mean of the other two, per workload: median (min-max)")
        for h in GPUS:
            others = [g for g in GPUS if g != h]
            by_w = collections.defaultdict(list)
            for k in groups:
                ref = math.sqrt(top[(others[0],) + k][q] * top[(others[1],) + k][q])
                by_w[k[0]].append(top[(h,) + k][q] / ref)
            cells = [f"{w} {statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"
                     for w, v in sorted(by_w.items())]
            print(f"  {h:8s} " + "; ".join(cells))
        print(f"== {label}: MAPE % left by the best constant factor k (oracle, fitted on the "
              "held-out GPU) times a reference")
        for h in GPUS:
            others = [g for g in GPUS if g != h]
            refs = {o: [top[(o,) + k][q] for k in groups] for o in others}
            refs["geomean"] = [math.sqrt(a * b) for a, b in zip(refs[others[0]], refs[others[1]])]
            truth = [top[(h,) + k][q] for k in groups]
            cells = []
            for name, ref in refs.items():
                m, kk = oracle_constant(list(zip(truth, ref)))
                cells.append(f"vs {name}: {m:5.1f} (k {kk:.2f})")
            print(f"  {h:8s} " + "; ".join(cells))
        print()


if __name__ == "__main__":
    main()
