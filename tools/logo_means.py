#!/usr/bin/env python3
"""Compare two outputs of `joulecast gpu-ops evaluate` (text form, saved to files): per operator,
the mean leave-one-GPU-out MAPE over the GPUs both hold, A then B; then the mean over every
(operator, GPU) cell both hold, of the leave-one-GPU-out part and of the test-table part.

    build/joulecast gpu-ops evaluate > a.txt
    build/joulecast gpu-ops evaluate --also data/h200/ops > b.txt
    tools/logo_means.py a.txt b.txt
"""
import re
import statistics
import sys

ROW = re.compile(r"(\w+)\s+(.+?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$")


def parse(path):
    with open(path) as f:
        text = f.read()
    logo, _, test = text.partition("\ntest tables")
    parts = []
    for part in (logo, test):
        cells = {}
        for line in part.splitlines():
            m = ROW.match(line)
            if m:
                cells[(m.group(1), m.group(2))] = float(m.group(4))
        parts.append(cells)
    return parts


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = parse(sys.argv[1]), parse(sys.argv[2])
    ops = []
    for op, _ in a[0]:
        if op not in ops:
            ops.append(op)
    print("leave-one-GPU-out, mean MAPE % over the GPUs both hold: A / B")
    for op in ops:
        gpus = [g for (o, g) in a[0] if o == op and (o, g) in b[0]]
        if gpus:
            print(f"  {op:8s} {statistics.mean(a[0][(op, g)] for g in gpus):5.1f} / "
                  f"{statistics.mean(b[0][(op, g)] for g in gpus):5.1f}  ({len(gpus)} GPUs)")
    for name, (x, y) in (("leave-one-GPU-out", (a[0], b[0])), ("test tables", (a[1], b[1]))):
        keys = [k for k in x if k in y]
        if keys:
            print(f"{name}: {len(keys)} cells, mean {statistics.mean(x[k] for k in keys):.2f} / "
                  f"{statistics.mean(y[k] for k in keys):.2f}")


if __name__ == "__main__":
    main()
