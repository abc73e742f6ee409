#!/usr/bin/env python3
"""Writes graph JSON zoo files for every torchvision classification network, and their fixtures.

For each name in torchvision.models.list_models(module=torchvision.models) (torchvision 0.14: 80
classification networks) this script

  1. builds the model with weights=None in eval mode; the per-sample input is the one that
     tests/data/zoo_reference.json records (3x224x224; inception_v3: 3x299x299);
  2. makes it tiny: every parameter and buffer becomes a zero-stride view of one shared zero,
     torch.zeros(1, dtype).expand(shape) (the trick of tools/make_torchscript_fixtures.py), so
     torch.jit.save stores one 4-byte storage per dtype while every tensor keeps its shape;
  3. traces it at batch 1 with torch.jit.trace under torch.no_grad(), so that the transformers
     (vit_*, and nn.MultiheadAttention elsewhere) take PyTorch's fused inference path
     (aten::_native_multi_head_attention) as a deployed model would, and saves the trace to
     tests/data/zoo_pt/<name>.pt without its *.debug_pkl entries (source ranges: more than half
     of each file, and nothing that joulecast's reader or torch.jit.load needs; module paths come
     from the module hierarchy);
  4. runs `build/joulecast inspect tests/data/zoo_pt/<name>.pt --input 3xHxW --json` (the
     TorchScript reader, op by op), drops what inspect adds for people (per node: type, cost,
     input_shapes, output_shape, output_shapes, macs, matrix_macs, parameters, flops; at the top:
     the totals macs, matrix_macs, flops, parameters), names the graph after the model, sets its
     description, and writes data/architectures/<name>.json (graph JSON, include/joulecast/graph/
     graph_json.h), one initializer (parameter or buffer) and one node per line.

The 14 networks that data/architectures/ holds in the module-tree format (alexnet, vgg11/13/16/19,
resnet18/34/50/101/152, mobilenet_v2, shufflenet_v2_x1_0, squeezenet1_0, densenet121) keep their
tree files (tools/make_zoo.py, checked by tools/check_zoo.py); only their .pt fixtures are written.
tests/graph/zoo_graph_test.cpp checks every file and fixture against tests/data/zoo_reference.json
(tools/zoo_reference.py): parameters, matrix MACs at batch 1 and 2, and that the zoo file and the
fixture predict the same.

Prints one line per network: OK (nodes, file sizes) or FAILED with the reason (e.g. the reader's
error naming an aten operation it does not support), then the total sizes; exits 1 if any failed.

Needs Debian's python3-torch and python3-torchvision (1.13 / 0.14) and a joulecast build with the
TorchScript plugin (cmake --build build --target joulecast joulecast_torchscript); re-runs itself
under /usr/bin/python3 when the running interpreter lacks torch. About 10 minutes on two cores
(tracing vit_h_14 alone takes a few).

Usage: tools/make_zoo_graphs.py [--only NAME ...] [--skip-existing] [--joulecast build/joulecast]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PT_DIR = os.path.join(REPO, "tests", "data", "zoo_pt")
ARCH_DIR = os.path.join(REPO, "data", "architectures")
REFERENCE_JSON = os.path.join(REPO, "tests", "data", "zoo_reference.json")

# Module-tree zoo files (data/architectures/README.md): not overwritten; fixtures only.
TREE_NETWORKS = {"alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34", "resnet50",
                 "resnet101", "resnet152", "mobilenet_v2", "shufflenet_v2_x1_0", "squeezenet1_0",
                 "densenet121"}

# Networks whose traced fixture is not kept (none so far: all 80 fit the size budget).
NO_FIXTURE = set()

NODE_ANNOTATIONS = ("type", "cost", "input_shapes", "output_shape", "output_shapes", "macs",
                    "matrix_macs", "parameters", "flops")
TOP_TOTALS = ("macs", "matrix_macs", "flops", "parameters")
TOP_ORDER = ("kind", "format_version", "name", "description", "batch", "inputs", "initializers",
             "nodes", "outputs")
DESCRIPTION = ("torchvision 0.14 models.{}(weights=None), traced with torch.jit.trace at batch 1 "
               "and lowered by joulecast's TorchScript reader (tools/make_zoo_graphs.py)")


try:
    import torch
    import torch.nn as nn
    import torchvision
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("make_zoo_graphs.py: needs torch and torchvision")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_reference import shrink  # noqa: E402  (the zero-stride weights, one definition)


def save_without_debug(traced, path):
    """torch.jit.save, then rewrites the zip without its *.debug_pkl entries."""
    tmp = path + ".tmp"
    torch.jit.save(traced, tmp)
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if not info.filename.endswith(".debug_pkl"):
                zout.writestr(info, zin.read(info.filename))
    os.remove(tmp)


def trace(name, input_shape, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # googlenet, inception_v3: init_weights
        model = shrink(torchvision.models.get_model(name, weights=None).eval())
    with warnings.catch_warnings():
        # Tracer warnings (asserts on sizes baked into the batch-1 trace; the reader lowers at two
        # batch sizes to find what scales) and torchvision's/torch's deprecation notices.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        with torch.no_grad():
            traced = torch.jit.trace(model, torch.zeros([1] + input_shape), check_trace=False)
    save_without_debug(traced, path)


def lower(args, name, input_shape, path):
    """The zoo file's JSON text, or raises RuntimeError with the reader's message."""
    shape = "x".join(str(d) for d in input_shape)
    run = subprocess.run([args.joulecast, "inspect", path, "--input", shape, "--json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError((run.stderr.strip() or run.stdout.strip()).splitlines()[-1])
    g = json.loads(run.stdout)
    if "initializers" not in g:
        raise RuntimeError("inspect --json wrote no \"initializers\" (a joulecast older than the "
                           "graph JSON of this script: rebuild it)")
    for key in TOP_TOTALS:
        g.pop(key, None)
    for node in g["nodes"]:
        for key in NODE_ANNOTATIONS:
            node.pop(key, None)
    g["name"] = name
    g["description"] = DESCRIPTION.format(name)
    unknown = set(g) - set(TOP_ORDER)
    if unknown:
        raise RuntimeError(f"unexpected top-level keys {sorted(unknown)}")

    def dumps(v):
        return json.dumps(v, separators=(",", ":"))

    parts = []
    for key in TOP_ORDER:
        if key not in g:
            continue
        if key in ("initializers", "nodes"):
            items = ",\n".join(" " + dumps(x) for x in g[key])
            parts.append(f'"{key}":[\n{items}\n]')
        else:
            parts.append(f'"{key}":{dumps(g[key])}')
    return "{" + ",\n".join(parts) + "}\n", len(g["nodes"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these networks")
    parser.add_argument("--skip-existing", action="store_true",
                        help="skip networks whose fixture (and zoo file) exist already")
    parser.add_argument("--joulecast", default=os.path.join(REPO, "build", "joulecast"),
                        help="the joulecast binary (its TorchScript plugin next to it)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(PT_DIR, exist_ok=True)
    with open(REFERENCE_JSON) as f:
        reference = json.load(f)["networks"]

    names = torchvision.models.list_models(module=torchvision.models)
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            sys.exit(f"not a torchvision classification model: {sorted(unknown)}")
        names = [n for n in names if n in args.only]

    failed = []
    start = time.time()
    for name in names:
        t0 = time.time()
        input_shape = reference.get(name, {}).get("input") or [3, 224, 224]
        pt = os.path.join(PT_DIR, f"{name}.pt")
        out = os.path.join(ARCH_DIR, f"{name}.json")
        write_json = name not in TREE_NETWORKS
        if args.skip_existing and os.path.exists(pt) and (not write_json or os.path.exists(out)):
            print(f"{name:20s} skipped (exists)", flush=True)
            continue
        try:
            trace(name, input_shape, pt)
            info = f"pt {os.path.getsize(pt) / 1e3:.0f} kB"
            if write_json:
                text, nodes = lower(args, name, input_shape, pt)
                with open(out, "w") as f:
                    f.write(text)
                info += f", json {len(text) / 1e3:.0f} kB, {nodes} nodes"
            else:
                info += ", tree file kept"
            if name in NO_FIXTURE:
                os.remove(pt)
                info += ", fixture dropped"
            print(f"{name:20s} OK      {info} ({time.time() - t0:.1f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 (reported)
            reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}" if str(e) else \
                type(e).__name__
            failed.append(name)
            print(f"{name:20s} FAILED  {reason}", flush=True)
            if os.path.exists(pt) and name in NO_FIXTURE:
                os.remove(pt)

    def total(directory, ext):
        return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)
                   if f.endswith(ext))

    print(f"\n{len(names) - len(failed)} OK, {len(failed)} failed{': ' if failed else ''}"
          f"{', '.join(failed)}; {time.time() - start:.0f} s")
    print(f"tests/data/zoo_pt: {total(PT_DIR, '.pt') / 1e6:.1f} MB; "
          f"data/architectures: {total(ARCH_DIR, '.json') / 1e6:.1f} MB")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
