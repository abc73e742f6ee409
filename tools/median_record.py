#!/usr/bin/env python3
"""Of whole-network records measured in several rounds (the same network, batch, mode, sequence
length and dtype in each file), write the round whose time is the median (an odd number of rounds:
a real record, unchanged; an even number: the lower middle one; one round: its records), one per
key, to stdout as JSON Lines.
For `joulecast evaluate` on a machine whose speed drifts between runs minutes apart.

    tools/median_record.py ROUND1.jsonl ROUND2.jsonl ROUND3.jsonl > median.jsonl
"""
import collections
import json
import sys


def key(r):
    return (r["type"], r["batch_size"], r.get("mode", "forward"),
            r.get("context", {}).get("seq_len"), r.get("dtype"))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rounds = collections.OrderedDict()
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                rounds.setdefault(key(r), []).append(r)
    for k, rs in rounds.items():
        if len(rs) != len(sys.argv) - 1:
            print(f"median_record: {k[0]} b{k[1]} {k[2]}: in {len(rs)} of {len(sys.argv) - 1} "
                  "files, skipped", file=sys.stderr)
            continue
        rs = sorted(rs, key=lambda r: r["duration_s"])
        print(json.dumps(rs[(len(rs) - 1) // 2], separators=(",", ":")))


if __name__ == "__main__":
    main()
