#!/usr/bin/env python3
"""Seconds each part of a build took, from a Ninja build directory's .ninja_log.

    python3 tools/ninja_log_times.py BUILD_DIR

Sums, per part (the tests' objects and links, the fuzz targets', the core library, the CLI, the
plugins, ...), the end minus start time that .ninja_log records for every output the build
directory still has as a target (`ninja -t targets all`; older outputs left in the log are
skipped). The last entry of an output counts, so run it after a fresh build for a whole-build
figure. With two jobs on two cores each job's time includes the other's contention: the sum is
CPU-ish seconds, not wall time. The build-time figures in README "Layout" come from it.
"""
import collections
import os
import subprocess
import sys


def part(out):
    if out.startswith("tests/"):
        return "tests compile" if out.endswith(".o") else "tests link"
    if out.startswith("fuzz/"):
        return "fuzz compile" if out.endswith(".o") else "fuzz link"
    if out.startswith("bench/"):
        return "bench"
    for key, name in (("joulecast_core", "core"), ("joulecast_graph", "graph"),
                      ("torchscript", "torchscript plugin"), ("onnx", "onnx plugin"),
                      ("collect_torch", "collector plugin"), ("trainlog", "trainlog tool"),
                      ("CMakeFiles/joulecast.dir", "cli")):
        if key in out:
            return name
    return "other"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ninja_log_times.py BUILD_DIR")
    build = sys.argv[1]
    log = os.path.join(build, ".ninja_log")
    if not os.path.exists(log):
        sys.exit(f"{log}: no such file (not a Ninja build directory?)")
    targets = subprocess.run(["ninja", "-C", build, "-t", "targets", "all"], capture_output=True,
                             text=True, check=True).stdout
    current = {line.split(":")[0] for line in targets.splitlines()}
    last = {}
    with open(log) as f:
        for line in f:
            if line.startswith("#"):
                continue
            start, end, _, out, _ = line.rstrip("\n").split("\t")
            last[out] = (int(start), int(end))
    sums = collections.Counter()
    for out, (start, end) in last.items():
        if out in current:
            sums[part(out)] += (end - start) / 1000
    for name, seconds in sums.most_common():
        print(f"{name:20s} {seconds:8.1f}")
    print(f"{'all':20s} {sum(sums.values()):8.1f}")


if __name__ == "__main__":
    main()
