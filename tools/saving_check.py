#!/usr/bin/env python3
"""Measured against predicted savings of a what-if: a bfloat16 run against a float32 one, or a
training step with frozen parameters against the full step.

    tools/saving_check.py dtype RECORDS... --model FP32_PROFILE --other BF16_PROFILE [-b 8]
    tools/saving_check.py freeze RECORDS... --model PROFILE

dtype: RECORDS are whole-network records (`collect --architecture NET --dtype D`, as
tools/collect_bf16.sh measures them), grouped by network, mode and dtype; per network and mode the
measured saving is 1 - bf16 / fp32 within each file (a round), the median over the files that hold
both, and the predicted one 1 - predict(--model OTHER --dtype bfloat16) / predict(--model FP32).

freeze: RECORDS are `collect --architecture GRAPH --mode train_step [--freeze SCOPES]` records (as
tools/collect_freeze.sh measures them); per network and frozen scopes the measured saving is
1 - frozen / full within each file, the median over files, and the predicted one the `saving` of
`predict GRAPH --mode train_step --freeze SCOPES --json`.

Prints one row per case with the measured median and range, the prediction, the difference in
percentage points, and whether it lies within 5 points; for freeze, then one row per network with
its full step measured (median and range over the files) and predicted (`full_step_s`, the frozen-
step rule with nothing frozen, which the saving is taken against).
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
JC = str(ROOT / "build" / "joulecast")


def records(paths):
    for p in paths:
        with open(p) as f:
            for line in f:
                if line.strip():
                    yield p, json.loads(line)


def predict(args):
    out = subprocess.run([JC, "predict", *args, "--json"], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout
    return json.loads(out)


def row(label, savings, predicted):
    med = statistics.median(savings)
    diff = 100 * (predicted - med)
    rng = f"{100 * min(savings):.1f}-{100 * max(savings):.1f}" if len(savings) > 1 else "-"
    ok = "yes" if abs(diff) <= 5 else "NO"
    print(f"| {label} | {100 * med:.1f} | {rng} | {len(savings)} | {100 * predicted:.1f} | "
          f"{diff:+.1f} | {ok} |")
    return abs(diff) <= 5


def dtype_check(a):
    by = {}
    for path, r in records(a.records):
        if r.get("architecture") is None and "architecture" not in r.get("context", {}):
            continue
        by.setdefault((r["type"], r["mode"], r["batch_size"]), {}).setdefault(path, {})[
            r["dtype"]] = r["duration_s"]
    print("| network, mode | measured saving % (median) | range | rounds | predicted % | "
          "difference (points) | within 5 |")
    print("|---|---|---|---|---|---|---|")
    ok = 0
    n = 0
    for (net, mode, b), files in sorted(by.items()):
        savings = [1 - d["bfloat16"] / d["float32"] for d in files.values()
                   if "bfloat16" in d and "float32" in d]
        if not savings:
            continue
        base = ["predict", net, "-b", str(b), "--mode", mode]
        f32 = predict(base[1:] + ["--model", a.model])["total_s"]
        b16 = predict(base[1:] + ["--model", a.other, "--dtype", "bfloat16"])["total_s"]
        n += 1
        ok += row(f"{net} b{b}, {mode}", savings, 1 - b16 / f32)
    print(f"{ok} of {n} within 5 points")


def freeze_check(a):
    by = {}
    for path, r in records(a.records):
        frozen = tuple((r.get("params") or {}).get("frozen", []))
        by.setdefault((r["type"], r["batch_size"]), {}).setdefault(path, {})[frozen] = \
            r["duration_s"]
    print("| network | frozen | measured saving % (median) | range | rounds | predicted % | "
          "difference (points) | within 5 |")
    print("|---|---|---|---|---|---|---|---|")
    ok = 0
    n = 0
    full_steps = []
    for (net, b), files in sorted(by.items()):
        cases = sorted({k for d in files.values() for k in d if k})
        name = pathlib.Path(net).stem
        full_step_s = None
        for frozen in cases:
            savings = [1 - d[frozen] / d[()] for d in files.values() if frozen in d and () in d]
            if not savings:
                continue
            p = predict([net, "-b", str(b), "--mode", "train_step", "--model", a.model,
                         "--freeze", ",".join(frozen)])
            full_step_s = p["full_step_s"]
            n += 1
            shown = ",".join(frozen) if len(frozen) <= 6 else f"{len(frozen)} scopes"
            ok += row(f"{name} b{b} | {shown}", savings, p["saving"])
        full = [d[()] for d in files.values() if () in d]
        if full and full_step_s is not None:
            full_steps.append((f"{name} b{b}", full, full_step_s))
    print(f"{ok} of {n} within 5 points")
    print()
    print("| network | full step measured s (median) | range | rounds | predicted s | "
          "predicted / measured |")
    print("|---|---|---|---|---|---|")
    for label, full, predicted in full_steps:
        med = statistics.median(full)
        print(f"| {label} | {med:.3f} | {min(full):.3f}-{max(full):.3f} | {len(full)} | "
              f"{predicted:.3f} | {predicted / med:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["dtype", "freeze"])
    ap.add_argument("records", nargs="+")
    ap.add_argument("--model", required=True)
    ap.add_argument("--other", help="the bfloat16 profile (dtype)")
    a = ap.parse_args()
    if a.what == "dtype":
        if not a.other:
            sys.exit("saving_check.py: dtype needs --other BF16_PROFILE")
        dtype_check(a)
    else:
        freeze_check(a)


if __name__ == "__main__":
    main()
