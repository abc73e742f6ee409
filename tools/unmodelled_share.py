#!/usr/bin/env python3
"""Share of each zoo network's predicted time that comes from fallbacks (proxies, per-element
stand-ins, nothing) rather than a fitted predictor, with one profile: the issue-18 check that
every zoo network is predicted by its own operators' models.

    tools/unmodelled_share.py PROFILE [--mode forward|train_step] [-b B] [--limit 0.02]

Prints one line per network (worst first: share, and the operators behind it) and exits 1 when
any share is at or above --limit. Runs build/joulecast predict --json (JOULECAST overrides).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def zoo_names():
    names = sorted(p.stem for p in (ROOT / "data/architectures").glob("*.json"))
    hf = sorted(p.stem for p in (ROOT / "data/architectures/hf").glob("*.json"))
    return names + hf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--mode", default="forward")
    ap.add_argument("-b", "--batch-size", default="1")
    ap.add_argument("--limit", type=float, default=0.02)
    a = ap.parse_args()
    jc = os.environ.get("JOULECAST", str(ROOT / "build/joulecast"))
    rows, failed = [], []
    for name in zoo_names():
        p = subprocess.run([jc, "predict", name, "--model", a.profile, "--mode", a.mode, "-b",
                            a.batch_size, "--json"], capture_output=True, text=True)
        if p.returncode != 0:
            failed.append((name, p.stderr.strip().splitlines()[-1] if p.stderr else "?"))
            continue
        u = json.loads(p.stdout).get("unmodelled", {})
        ops = sorted(u.get("by_op", {}).items(), key=lambda kv: -kv[1]["share"])
        rows.append((u.get("share", 0.0), name, ops))
    rows.sort(reverse=True)
    for share, name, ops in rows:
        top = ", ".join(f"{op} {v['share'] * 100:.2f}% ({v['method']})" for op, v in ops[:3])
        print(f"{share * 100:6.2f}%  {name:28s} {top}")
    for name, err in failed:
        print(f"  fail  {name:28s} {err}")
    over = [r for r in rows if r[0] >= a.limit]
    worst = rows[0] if rows else (0.0, "-", [])
    print(f"worst: {worst[1]} {worst[0] * 100:.2f}%; {len(over)} of {len(rows)} networks at or "
          f"above {a.limit * 100:.1f}%; {len(failed)} could not be predicted")
    return 1 if over or failed else 0


if __name__ == "__main__":
    sys.exit(main())
