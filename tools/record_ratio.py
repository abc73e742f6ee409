#!/usr/bin/env python3
"""How much slower the records of B are than those of A, configuration by configuration: for every
configuration measured in both (same type, parameters, input shape, batch, mode and context
heap/threads/seq_len), duration_s(B) / duration_s(A); prints the median, range and count, and with
--each every pair. For telling a virtual machine's speed from another's before mixing their
records. --any-heap pairs records whatever heap they were measured under (kept against reserve
rounds of the same networks).

    tools/record_ratio.py A.jsonl B.jsonl [--each] [--any-heap]
"""
import json
import statistics
import sys


def key(r):
    c = r.get("context", {})
    heap = None if "--any-heap" in sys.argv else c.get("heap")
    return json.dumps([r["type"], r.get("params"), r.get("input_shape"), r["batch_size"],
                       r.get("mode", "forward"), heap, c.get("threads"),
                       c.get("seq_len")], sort_keys=True)


def load(path):
    with open(path) as f:
        return {key(r): r for r in (json.loads(line) for line in f if line.strip())}


def main():
    args = [a for a in sys.argv[1:] if a not in ("--each", "--any-heap")]
    if len(args) != 2:
        sys.exit(__doc__)
    a, b = load(args[0]), load(args[1])
    pairs = [(k, b[k]["duration_s"] / a[k]["duration_s"]) for k in b if k in a]
    if not pairs:
        sys.exit("no configuration is in both files")
    if "--each" in sys.argv:
        for k, r in pairs:
            t = json.loads(k)
            print(f"{t[0]:14s} b{t[3]:<3d} {t[4]:10s} {r:6.2f}")
    ratios = sorted(r for _, r in pairs)
    print(f"{len(ratios)} configurations in both: B / A median {statistics.median(ratios):.2f}, "
          f"range {ratios[0]:.2f}-{ratios[-1]:.2f}")


if __name__ == "__main__":
    main()
