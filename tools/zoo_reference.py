#!/usr/bin/env python3
"""Reference numbers for every torchvision classification network, counted by PyTorch itself.

For each name in torchvision.models.list_models(module=torchvision.models) (torchvision 0.14: 80
classification networks; none is skipped, a network that fails gets {"error": ...}) this script

  1. builds the model with weights=None in eval mode; the input is 1x3x224x224, except
     inception_v3 (3x299x299);
  2. counts the parameters, sum(p.numel() for p in model.parameters());
  3. counts matrix multiply-accumulates at PyTorch's dispatcher (a TorchDispatchMode around a
     forward pass under torch.no_grad(), batch 1 and batch 2): aten.convolution
     (N*Cout*Hout*Wout*(Cin/groups)*kh*kw), mm/addmm (M*K*N), bmm/baddbmm (b*M*K*N), mv/addmv, dot,
     addbmm, and aten._native_multi_head_attention (ViT's fast path in eval mode: q, k, v and output
     projections plus q@k^T and attn@v), bias excluded. aten.linear and aten.matmul are composite
     and reach the dispatcher as addmm / mm / bmm (they are counted too should they ever arrive
     undecomposed). This is the quantity fvcore reports as "flops" for conv / matmul / linear /
     einsum (norms, pooling, activations and element-wise ops are not counted);
  4. traces the model (torch.jit.trace, strict=True, else strict=False), with every parameter and
     buffer replaced by a zero-stride view torch.zeros(1, dtype).expand(shape) (the trick of
     tools/make_torchscript_fixtures.py), saves it to /tmp/zoo_pt/<name>.pt (never into the
     repository: only the file size matters, to judge whether one fixture per network is
     affordable), loads it back and takes a census of the node kinds of its inlined graph (what the
     C++ TorchScript reader sees after torch::jit::Inline), with one schema per aten kind; it also
     checks that every convolution / linear / matmul node of the loaded inlined graph still knows
     its module path (node.getModuleHierarchy(), C++ torch::jit::utils::getNodesModuleHierarchy)
     and runs the loaded trace on a batch of 2 to find traces that bake the batch size in.

Batch 1 and the trace are real CPU forward passes (random initialisation, resp. zero weights).
Batch 2 and the traced batch-2 check run in "shape-only" mode: the dispatch mode replaces the
outputs of the matrix ops listed above by zeros of their exact output shape instead of computing
them (everything else still runs), as this machine's reference BLAS makes a real ViT-H/14 forward
take minutes; the counts only depend on shapes. --real computes batch 2 too; --shape-only counts
batch 1 shape-only as well (the trace stays real: torch 1.13's tracer records nothing under a
TorchDispatchMode). matrix_macs_b2 is 2 x matrix_macs_b1 except for swin_v2_*, whose continuous
position bias MLP runs once per block whatever the batch.

Writes
  tests/data/zoo_reference.json  per network: input [3, H, W], parameters, matrix_macs_b1,
                                 matrix_macs_b2, output_shape (batch 1), or {"error": ...}
  tools/zoo_op_census.json       node kinds of the loaded, inlined traces -> {count (nodes over all
                                 networks), networks, schema}, per network the trace details
                                 (strict, tracer warnings, .pt size with and without its
                                 *.debug_pkl entries, batch-2 check, nodes without module path,
                                 timings) and the dispatcher ops seen per network
and prints one line per network with its timings, then the dispatcher ops seen over the zoo.

Needs Debian's python3-torch / python3-torchvision (1.13 / 0.14); re-runs itself under
/usr/bin/python3 when the running interpreter lacks them. Single-threaded; about 22 minutes on two
busy cores, of which vit_h_14 takes 6 (its real batch-1 pass and its trace run on reference BLAS).

Usage: tools/zoo_reference.py [--real | --shape-only] [--pt-dir DIR] [--no-write] [NAME ...]
"""

import argparse
import collections
import gc
import json
import os
import sys
import time
import traceback
import warnings
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_JSON = os.path.join(REPO, "tests", "data", "zoo_reference.json")
CENSUS_JSON = os.path.join(REPO, "tools", "zoo_op_census.json")

try:
    import torch
    import torch.nn as nn
    import torchvision
    from torch.utils._python_dispatch import TorchDispatchMode
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("zoo_reference.py: needs torch and torchvision")

INPUT_SIZE = {"inception_v3": 299}  # every other network: 224

aten = torch.ops.aten
CONV = {aten.convolution.default, aten._convolution.default}  # the latter: from TorchScript
MATMUL = {aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default,
          aten.mv.default, aten.addmv.default, aten.dot.default, aten.vdot.default}
ADDBMM = {aten.addbmm.default}
MHA = {aten._native_multi_head_attention.default}
# Composite ops: not expected at the dispatcher (they decompose), counted if they ever arrive.
COMPOSITE = {aten.linear.default, aten.matmul.default}
HEAVY = CONV | MATMUL | ADDBMM | MHA | COMPOSITE


def _shape(t):
    return list(t.shape)


def matrix_macs(func, args, out_shape):
    """Multiply-accumulates of one matrix op (bias excluded), from shapes only."""
    numel = 1
    for d in out_shape:
        numel *= d
    if func in CONV:
        x, w, transposed = args[0], args[1], args[6]
        per = 1
        for d in w.shape[1:]:
            per *= d
        # Each output (input, when transposed) element takes Cin/groups*kh*kw (Cout/groups*kh*kw).
        return (x.numel() if transposed else numel) * per
    if func in MATMUL:
        a = args[0] if func in (aten.mm.default, aten.bmm.default, aten.mv.default,
                                aten.dot.default, aten.vdot.default) else args[1]
        return numel * a.shape[-1]
    if func in ADDBMM:
        b1 = args[1]
        return b1.shape[0] * numel * b1.shape[-1]
    if func in COMPOSITE:
        return numel * args[0].shape[-1]
    if func in MHA:
        q, k = args[0], args[1]
        e = args[3]
        bq = q.numel() // e  # batch * query tokens
        bk = k.numel() // e
        lk = k.shape[-2] if k.dim() == 3 else k.shape[0]
        # q, k, v and output projections, q @ k^T and attn @ v (all heads together: E per pair).
        return bq * e * e + 2 * bk * e * e + bq * e * e + 2 * bq * lk * e
    raise AssertionError(func)


def matrix_out_shape(func, args):
    """Output shape of a matrix op without computing it."""
    if func in CONV:
        x, w, stride, padding, dilation, transposed, out_pad, groups = (
            args[0], args[1], args[3], args[4], args[5], args[6], args[7], args[8])
        spatial = []
        for i, size in enumerate(x.shape[2:]):
            k = w.shape[2 + i]
            s, p, d = stride[i % len(stride)], padding[i % len(padding)], dilation[i % len(dilation)]
            if transposed:
                spatial.append((size - 1) * s - 2 * p + d * (k - 1) + out_pad[i % len(out_pad)] + 1)
            else:
                spatial.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
        cout = w.shape[1] * groups if transposed else w.shape[0]
        return [x.shape[0], cout] + spatial
    if func in (aten.mm.default, aten.addmm.default):
        a, b = (args[0], args[1]) if func == aten.mm.default else (args[1], args[2])
        return [a.shape[0], b.shape[1]]
    if func in (aten.bmm.default, aten.baddbmm.default):
        a, b = (args[0], args[1]) if func == aten.bmm.default else (args[1], args[2])
        return [a.shape[0], a.shape[1], b.shape[2]]
    if func in (aten.mv.default, aten.addmv.default):
        a = args[0] if func == aten.mv.default else args[1]
        return [a.shape[0]]
    if func in (aten.dot.default, aten.vdot.default):
        return []
    if func in ADDBMM:
        return [args[1].shape[1], args[2].shape[2]]
    if func in MHA:
        return list(args[0].shape[:-1]) + [args[7].shape[0]]
    return None  # composite ops: computed for real


class MacCounter(TorchDispatchMode):
    """Counts matrix MACs and every aten op reaching the dispatcher.

    shape_only: matrix ops return zeros of their output shape instead of being computed."""

    def __init__(self, shape_only=False):
        super().__init__()
        self.shape_only = shape_only
        self.macs = 0
        self.ops = collections.Counter()
        self.macs_by_op = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.ops[str(func)] += 1
        if func not in HEAVY:
            return func(*args, **kwargs)
        shape = matrix_out_shape(func, args) if self.shape_only else None
        if shape is None:
            out = func(*args, **kwargs)
            shape = _shape(out[0] if isinstance(out, (tuple, list)) else out)
        else:
            ref = args[0] if func not in (aten.addmm.default, aten.baddbmm.default,
                                          aten.addmv.default, aten.addbmm.default) else args[1]
            out = torch.zeros(shape, dtype=ref.dtype, device=ref.device)
            if func in MHA:
                need_weights = args[10] if len(args) > 10 else kwargs.get("need_weights", True)
                if need_weights:
                    raise NotImplementedError("shape-only _native_multi_head_attention with weights")
                out = (out, None)
        m = matrix_macs(func, args, shape)
        self.macs += m
        self.macs_by_op[str(func)] += m
        return out


def count(model, x, shape_only):
    with torch.no_grad(), MacCounter(shape_only) as counter:
        y = model(x)
    return counter, y


def shrink(model):
    """Replaces every parameter and buffer by a zero-stride view of one shared zero per dtype."""
    zeros = {}

    def zero(t):
        if t.dtype not in zeros:
            zeros[t.dtype] = torch.zeros(1, dtype=t.dtype)
        base = zeros[t.dtype]
        return (base.reshape(()) if t.dim() == 0 else base).expand(t.shape)

    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None:
                module._parameters[name] = nn.Parameter(zero(p), requires_grad=False)
        for name, b in list(module._buffers.items()):
            if b is not None:
                module._buffers[name] = zero(b)
    return model


def trace(model, x):
    """torch.jit.trace, strict first; returns (traced, strict, tracer warnings).

    A real forward pass: torch 1.13's tracer records nothing under a TorchDispatchMode (not even a
    pass-through one), so shape-only mode cannot speed tracing up."""
    last = None
    for strict in (True, False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with torch.no_grad():
                    traced = torch.jit.trace(model, x, strict=strict, check_trace=False)
            except Exception as e:  # noqa: BLE001 (reported)
                last = e
                continue
        msgs = []
        for w in caught:
            if issubclass(w.category, torch.jit.TracerWarning):
                text = str(w.message).split("\n")[0][:160]
                where = f"{os.path.basename(w.filename)}:{w.lineno}"
                entry = f"{where}: {text}"
                if entry not in msgs:
                    msgs.append(entry)
        return traced, strict, msgs
    raise last


def all_nodes(block):
    for node in block.nodes():
        yield node
        for sub in node.blocks():
            yield from all_nodes(sub)


MODULE_PATH_KINDS = {"aten::_convolution", "aten::conv2d", "aten::linear", "aten::matmul",
                     "aten::addmm", "aten::mm", "aten::bmm", "aten::einsum",
                     "aten::_native_multi_head_attention", "aten::batch_norm", "aten::layer_norm"}


def census_of(graph):
    """Node kinds with counts, one schema per kind, nodes lacking a module path."""
    kinds = collections.Counter()
    schemas = {}
    no_path, with_path = [], 0
    for node in all_nodes(graph):
        kind = node.kind()
        kinds[kind] += 1
        if kind not in schemas and kind.startswith("aten::"):
            try:
                schemas[kind] = str(node.schema())
            except Exception:  # noqa: BLE001
                schemas[kind] = "(no schema)"
        if kind in MODULE_PATH_KINDS:
            if node.getModuleHierarchy():
                with_path += 1
            else:
                no_path.append(kind)
    return kinds, schemas, with_path, collections.Counter(no_path)


def process(name, args, pt_dir):
    times = {}
    t0 = time.time()
    size = INPUT_SIZE.get(name, 224)
    entry = {"input": [3, size, size]}
    extra = {}
    model = torchvision.models.get_model(name, weights=None).eval()
    times["build"] = time.time() - t0
    entry["parameters"] = sum(p.numel() for p in model.parameters())

    t = time.time()
    c1, y1 = count(model, torch.randn(1, 3, size, size), shape_only=not args.real_b1)
    times["b1"] = time.time() - t
    t = time.time()
    c2, y2 = count(model, torch.randn(2, 3, size, size), shape_only=not args.real)
    times["b2"] = time.time() - t
    entry["matrix_macs_b1"] = c1.macs
    entry["matrix_macs_b2"] = c2.macs
    entry["output_shape"] = list(y1.shape)
    extra["dispatch_ops"] = dict(sorted(c1.ops.items()))
    extra["macs_by_op"] = dict(sorted(c1.macs_by_op.items()))
    if c2.macs != 2 * c1.macs:
        extra["note_b2"] = f"batch-2 MACs {c2.macs} != 2 x batch-1 MACs {c1.macs}"
    if list(y2.shape) != [2] + list(y1.shape[1:]):
        extra["note_b2_shape"] = f"batch-2 output {list(y2.shape)}"
    del y1, y2

    # Trace, save, reload, census; any failure here is recorded without losing the counts.
    t = time.time()
    trace_info = {}
    try:
        model = shrink(model)
        x1 = torch.zeros(1, 3, size, size)
        traced, strict, tw = trace(model, x1)
        trace_info["strict"] = strict
        trace_info["tracer_warnings"] = tw
        pre_kinds = set(n.kind() for n in all_nodes(traced.inlined_graph))
        times["trace"] = time.time() - t
        t = time.time()
        path = os.path.join(pt_dir, f"{name}.pt")
        torch.jit.save(traced, path)
        trace_info["pt_bytes"] = os.path.getsize(path)
        trace_info["pt_bytes_without_debug_pkl"] = size_without_debug_pkl(path)
        del traced
        loaded = torch.jit.load(path)
        kinds, schemas, with_path, no_path = census_of(loaded.inlined_graph)
        trace_info["kinds"] = dict(kinds)
        trace_info["schemas"] = schemas
        trace_info["nodes_with_module_path"] = with_path
        trace_info["nodes_without_module_path"] = dict(no_path)
        if set(kinds) != pre_kinds:
            trace_info["kinds_changed_by_save_load"] = {
                "lost": sorted(pre_kinds - set(kinds)), "gained": sorted(set(kinds) - pre_kinds)}
        if name == "resnet18":
            trace_info["module_path_example"] = module_path_example(model, loaded, x1)
        times["save_load"] = time.time() - t
        t = time.time()
        try:
            with torch.no_grad(), MacCounter(shape_only=True) as ct:
                yt = loaded(torch.zeros(2, 3, size, size))
            trace_info["batch2_output"] = list(yt.shape)
            trace_info["batch2_ok"] = list(yt.shape) == [2] + entry["output_shape"][1:]
            trace_info["batch2_macs_ok"] = ct.macs == c2.macs
        except Exception as e:  # noqa: BLE001
            trace_info["batch2_ok"] = False
            trace_info["batch2_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        times["trace_b2"] = time.time() - t
        del loaded
    except Exception as e:  # noqa: BLE001
        trace_info["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    extra["trace"] = trace_info
    del model
    gc.collect()
    times["total"] = time.time() - t0
    extra["times"] = {k: round(v, 2) for k, v in times.items()}
    return entry, extra


def size_without_debug_pkl(path):
    """Size of the .pt once its *.debug_pkl entries (source ranges) are dropped from the zip.

    torch.jit.load still reads such a file, and getModuleHierarchy() still names every node's
    module: the module path comes from the module hierarchy, not from the debug information."""
    stripped = path + ".nodebug"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(stripped, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if not info.filename.endswith(".debug_pkl"):
                zout.writestr(info, zin.read(info.filename))
    size = os.path.getsize(stripped)
    os.remove(stripped)
    return size


def module_path_example(model, loaded, x):
    """What names resnet18's layer1.0.conv1 convolution in a traced graph, fresh and loaded."""
    fresh = torch.jit.trace(model, x, check_trace=False)
    out = {}
    for label, mod in (("traced", fresh), ("loaded", loaded)):
        convs = [n for n in mod.inlined_graph.nodes() if n.kind() == "aten::_convolution"]
        n = convs[1]  # conv1, then layer1.0.conv1
        out[label] = {
            "scopeName": n.scopeName(),
            "getModuleHierarchy": n.getModuleHierarchy(),
            "sourceRange_first_line": n.sourceRange().splitlines()[0] if n.sourceRange() else "",
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", action="store_true",
                        help="compute batch 2 for real too (slow: reference BLAS)")
    parser.add_argument("--shape-only", action="store_true",
                        help="do not compute batch 1 for real either (fast)")
    parser.add_argument("--pt-dir", default="/tmp/zoo_pt", help="where the traced .pt files go")
    parser.add_argument("--no-write", action="store_true", help="print only, write no JSON")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    args.real_b1 = not args.shape_only
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(args.pt_dir, exist_ok=True)

    names = torchvision.models.list_models(module=torchvision.models)
    if args.names:
        unknown = set(args.names) - set(names)
        if unknown:
            sys.exit(f"not a torchvision classification model: {sorted(unknown)}")
        names = [n for n in names if n in args.names]

    networks, extras = {}, {}
    start = time.time()
    for name in names:
        try:
            entry, extra = process(name, args, args.pt_dir)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            entry, extra = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}, {}
            gc.collect()
        networks[name] = entry
        extras[name] = extra
        tr = extra.get("trace", {})
        print(f"{name:20s} {json.dumps(entry)}  times={extra.get('times')} "
              f"pt={tr.get('pt_bytes')} strict={tr.get('strict')} b2={tr.get('batch2_ok')}"
              f"{' TRACE-ERROR ' + tr['error'] if 'error' in tr else ''}"
              f"{' ' + extra['note_b2'] if 'note_b2' in extra else ''}", flush=True)
    elapsed = time.time() - start

    ops = collections.Counter()
    for extra in extras.values():
        for op in extra.get("dispatch_ops", {}):
            ops[op] += 1
    print(f"\ndispatcher ops (networks using them), {len(ops)} kinds:")
    for op, n in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:3d} {op}{'  [counted]' if any(str(h) == op for h in HEAVY) else ''}")
    print(f"total {elapsed:.0f} s")
    if args.no_write:
        return

    header = {"generated_by": "tools/zoo_reference.py", "torch": torch.__version__,
              "torchvision": torchvision.__version__}
    lines = [f"    {json.dumps(n)}: {json.dumps(e)}" for n, e in networks.items()]
    with open(REFERENCE_JSON, "w") as f:
        f.write("{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in header.items())
                + '  "note": "input: per-sample shape; matrix_macs: multiply-accumulates of '
                'convolution / mm / addmm / bmm / baddbmm / _native_multi_head_attention at the '
                'dispatcher (eval, no_grad), bias excluded, for a batch of 1 and of 2; '
                'output_shape: batch of 1; swin_v2_*: matrix_macs_b2 < 2 x matrix_macs_b1 since '
                'the continuous position bias MLP (cpb_mlp) runs once per block whatever the batch",\n'
                + '  "networks": {\n' + ",\n".join(lines) + "\n  }\n}\n")

    kinds = {}
    for name, extra in extras.items():
        tr = extra.get("trace", {})
        for kind, n in tr.get("kinds", {}).items():
            k = kinds.setdefault(kind, {"count": 0, "networks": [], "schema": None})
            k["count"] += n
            k["networks"].append(name)
            if k["schema"] is None and kind in tr.get("schemas", {}):
                k["schema"] = tr["schemas"][kind]
    kinds = dict(sorted(kinds.items(), key=lambda kv: (-len(kv[1]["networks"]), kv[0])))
    traces = {}
    for name, extra in extras.items():
        tr = {k: v for k, v in extra.get("trace", {}).items() if k not in ("kinds", "schemas")}
        if "note_b2" in extra:
            tr["note_b2"] = extra["note_b2"]
        tr["dispatch_ops"] = extra.get("dispatch_ops")
        tr["macs_by_op"] = extra.get("macs_by_op")
        tr["times"] = extra.get("times")
        traces[name] = tr
    census = dict(header)
    census["note"] = ("kinds: node kinds of the inlined graph of each network's trace after "
                      "torch.jit.save / torch.jit.load (batch 1, zero-stride parameters), with the "
                      "number of nodes over all networks, the networks using them and one schema; "
                      "traces: per network the trace mode, tracer warnings, .pt size, whether the "
                      "batch-1 trace runs at batch 2, and the aten ops seen at the dispatcher")
    census["kinds"] = kinds
    census["traces"] = traces
    with open(CENSUS_JSON, "w") as f:
        f.write("{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in header.items())
                + f'  "note": {json.dumps(census["note"])},\n'
                + '  "kinds": {\n'
                + ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in kinds.items())
                + '\n  },\n  "traces": {\n'
                + ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in traces.items())
                + "\n  }\n}\n")
    print(f"wrote {os.path.relpath(REFERENCE_JSON, REPO)}, {os.path.relpath(CENSUS_JSON, REPO)}")


if __name__ == "__main__":
    main()
