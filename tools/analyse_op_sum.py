#!/usr/bin/env python3
"""How much of a graph network's measured time the sum of its operators, each measured alone,
explains: tools/analyse_layer_sum.py for operator graphs.

For each (network, batch) record of NETWORKS (`collect --architecture`), every node of the
network's graph (`joulecast inspect NAME -b B --json`) is matched to the record of OPS
(`collect --configs-from`) that measured a node of the same operator, attributes and input shapes
(the collector measures each such group once and names its first node in context.layer); views
count 0. The sum is what a perfect per-operator predictor would predict. Printed beside it: the
profile's prediction, both as signed errors against the measured network.

    tools/analyse_op_sum.py NETWORKS OPS --model PROFILE [--mode forward] [--by-type]

--by-type adds, per network and operator type, the measured-alone sum beside the profile's
prediction of the same nodes (predict --per-layer), and over all records each type's share of the
measured sums and its signed and absolute per-node errors: which predictors the rest of the error
comes from.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run(jc, *args):
    p = subprocess.run([jc, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("networks")
    ap.add_argument("ops")
    ap.add_argument("--model", required=True)
    ap.add_argument("--mode", default="forward")
    ap.add_argument("--by-type", action="store_true")
    a = ap.parse_args()
    jc = os.environ.get("JOULECAST", str(ROOT / "build/joulecast"))
    # A record's batch_size is its layer form's first dimension: the graph's batch, or the rows
    # of a rank-2 input (GPT-2's flattened tokens). Of two records of one node the later wins.
    ops = {}
    for r in load(a.ops):
        if r["mode"] == a.mode:
            ops.setdefault((r["context"]["from_architecture"], r["context"]["layer"]), []).append(r)

    def measured_alone(name, b, n):
        found = None
        first = n["input_shapes"][0] if n["input_shapes"] else []
        for r in ops.get((name, n["name"]), []):
            if r["batch_size"] == b or [r["batch_size"]] + r["input_shape"] == first:
                found = r
        return found

    # The collector measures one form once across all the networks of one call: index every
    # measured node by (batch, operator, attributes, input shapes), over every network measured,
    # each on its graph at the sequence length of its network record (collect --configs-from
    # NAME --seq-len S measured the operators at that length).
    graphs = {}

    def graph(name, b, extra):
        if (name, b, tuple(extra)) not in graphs:
            graphs[(name, b, tuple(extra))] = run(jc, "inspect", name, "-b", str(b), "--json",
                                                  *extra)
        return graphs[(name, b, tuple(extra))]

    def seq_args(r):
        return ["--seq-len", str(r["context"]["seq_len"])] if "seq_len" in r["context"] else []

    seq = {}
    for net in load(a.networks):
        seq.setdefault((net["type"], net["batch_size"]), seq_args(net))

    def key(b, n):
        return (b, n["op"], json.dumps(n.get("attrs", {}), sort_keys=True),
                json.dumps(n["input_shapes"]))

    measured = {}
    for name, b in sorted(seq):
        if not any(k[0] == name for k in ops):
            continue
        for n in graph(name, b, seq[(name, b)])["nodes"]:
            r = measured_alone(name, b, n)
            if r is not None:
                measured.setdefault(key(b, n), r)
    sums, preds = [], []
    by_type = {}
    print(f"{'network':20s} {'b':>3s} {'measured s':>11s} {'op sum':>8s} {'profile':>8s}  missing")
    for net in load(a.networks):
        if net["mode"] != a.mode:
            continue
        name, b = net["type"], net["batch_size"]
        extra = seq_args(net)
        g = graph(name, b, extra)
        total, missing = 0.0, 0
        alone = {}
        for n in g["nodes"]:
            if n["cost"] == "view":
                continue
            r = measured.get(key(b, n))
            if r is None:
                missing += 1
                continue
            total += r["duration_s"]
            alone[n["name"]] = (n["type"], r["duration_s"])
        if total == 0:
            continue
        p = run(jc, "predict", name, "--model", a.model, "-b", str(b), "--mode", a.mode,
                "--json", "--per-layer", *extra)
        pred = p["total_s"]
        if a.by_type:
            rows = {}
            for layer in p["layers"]:
                if layer["name"] in alone:
                    t, s_alone = alone[layer["name"]]
                    row = rows.setdefault(t, [0.0, 0.0, 0])
                    row[0] += s_alone
                    row[1] += layer["s"]
                    row[2] += 1
                    node = by_type.setdefault(t, [0.0, 0.0, 0.0, 0])
                    node[0] += s_alone
                    node[1] += layer["s"] - s_alone
                    node[2] += abs(layer["s"] / s_alone - 1)
                    node[3] += 1
            print(f"  {name} b{b}: " + ", ".join(
                f"{t} {v[0]:.4f}s {100 * (v[1] / v[0] - 1):+.0f}% ({v[2]})"
                for t, v in sorted(rows.items(), key=lambda kv: -kv[1][0])))
        m = net["duration_s"]
        sums.append(abs(total / m - 1))
        preds.append(abs(pred / m - 1))
        print(f"{name:20s} {b:3d} {m:11.4f} {100 * (total / m - 1):+7.1f}% {100 * (pred / m - 1):+7.1f}%"
              f"  {missing}")
    if sums:
        print(f"MAPE over {len(sums)} records: operator sum {100 * sum(sums) / len(sums):.2f} %, "
              f"profile {100 * sum(preds) / len(preds):.2f} %")
    if by_type:
        grand = sum(v[0] for v in by_type.values())
        print(f"{'type':20s} {'nodes':>6s} {'share':>7s} {'sum error':>10s} {'node MAPE':>10s}")
        for t, v in sorted(by_type.items(), key=lambda kv: -kv[1][0]):
            print(f"{t:20s} {v[3]:6d} {100 * v[0] / grand:6.1f}% {100 * v[1] / v[0]:+9.1f}% "
                  f"{100 * v[2] / v[3]:9.1f}%")


if __name__ == "__main__":
    main()
