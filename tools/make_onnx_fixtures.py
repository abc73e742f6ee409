#!/usr/bin/env python3
"""Exports the ONNX fixtures of joulecast's ONNX reader (tests/data/zoo_onnx/), without weights.

For each name in torchvision.models.list_models(module=torchvision.models) (torchvision 0.14: 80
classification networks) this script

  1. builds the model with weights=None in eval mode and gives every floating parameter and
     buffer distinct random values (torch.onnx.export deduplicates initializers of equal value,
     e.g. BatchNorm weights all initialised to one, into Identity nodes); the per-sample input is
     the one tests/data/zoo_reference.json records (3x224x224; inception_v3: 3x299x299);
  2. exports it with torch.onnx.export at the opset of OPSET (17 unless listed: a few networks
     are exported at 11 to 16 so that every opset the reader supports is read in the tests),
     input "x" and output "logits" with a dynamic batch dimension ("batch"),
     training=TrainingMode.PRESERVE (in EVAL mode the exporter folds BatchNorm into the preceding
     convolution, so the file would describe another network than the module), do_constant_folding
     =False (constant folding would, e.g., precompute swin_v2's position-bias MLP, whose weights
     and products then vanish from the file) and export_params=False, under autograd (not
     torch.no_grad(): nn.MultiheadAttention's fused inference path has no ONNX export);
  3. strips the weights (and compacts the file: see compact()): export_params=False leaves every parameter and buffer as a graph input
     named by its state_dict key; each becomes an initializer again, with its dims and dtype,
     its values inline when it has at most INLINE_ELEMENTS elements (biases of small layers, scalar
     buffers) and otherwise stored as external data (data_location EXTERNAL, location
     "<name>.onnx.data", a file that is not shipped: only shapes matter to joulecast, whose reader
     treats a tensor without readable data as shape-only). onnx.load(path, load_external_data=
     False) reads the fixtures; onnx.checker and shape inference accept them once those tensors are
     turned back into typed graph inputs (done here as a check, as joulecast's reader does);
  4. writes tests/data/zoo_onnx/<name>.onnx.

Also exported: a small nn.TransformerEncoder (2 layers of nn.TransformerEncoderLayer(d_model=64,
nhead=4, dim_feedforward=128, batch_first=True), input "src" [batch, sequence, 64] with both
dimensions dynamic) at opset 17 (transformer_encoder.onnx: LayerNormalization) and 14
(transformer_encoder_opset14.onnx: layer norm decomposed into ReduceMean, Sub, Pow, Sqrt, Div),
and its TorchScript trace at batch 1, sequence 10 under torch.no_grad() (transformer_encoder.pt,
weights as zero-stride views like tools/make_zoo_graphs.py's fixtures), which takes PyTorch's fused
inference path (aten::_transformer_encoder_layer_fwd), as a deployed model would.

Also written, by hand with onnx.helper: tests/data/onnx/tokens.onnx (token ids [batch, sequence]
into an embedding, a mean and a linear layer, for --seq-len) and the ONNX entries of the bad-input
catalogue, tests/data/bad/onnx_*.onnx (truncated, corrupt, an unsupported operator, a dynamic
dimension no flag was given for, opset 9); --small-only writes just these.

Networks that fail to export are listed with the exporter's reason in
tests/data/zoo_onnx/export_report.json (with the opset, node count and size of every file) and
printed; the script exits 0 when every failure is one of KNOWN_FAILURES (the reason given there
must match), else 1.

Needs Debian's python3-torch, python3-torchvision and python3-onnx (1.13 / 0.14 / 1.12); re-runs
itself under /usr/bin/python3 when the running interpreter lacks them. About 15 minutes on two
busy cores (vit_h_14's forward pass, on the reference BLAS, takes most of it).

Usage: tools/make_onnx_fixtures.py [--only NAME ...] [--check-only] [--small-only]
  --check-only  reads the existing fixtures back and runs the checker and shape inference on them
"""

import argparse
import collections
import io
import json
import os
import sys
import time
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data", "zoo_onnx")
REFERENCE_JSON = os.path.join(REPO, "tests", "data", "zoo_reference.json")
REPORT_JSON = os.path.join(OUT_DIR, "export_report.json")
SMALL_DIR = os.path.join(REPO, "tests", "data", "onnx")
BAD_DIR = os.path.join(REPO, "tests", "data", "bad")

DEFAULT_OPSET = 17
# Networks exported at another opset, so that the tests read every opset from 11 to 17.
OPSET = {
    "alexnet": 11,
    "shufflenet_v2_x0_5": 11,
    "resnet18": 12,
    "mobilenet_v2": 12,
    "mobilenet_v3_small": 13,  # HardSwish appears at opset 14: below, HardSigmoid and Mul
    "shufflenet_v2_x1_0": 13,
    "squeezenet1_0": 14,
    "vit_b_16": 14,  # LayerNormalization appears at opset 17: below, decomposed
    "googlenet": 15,
    "efficientnet_b0": 16,
}
# Tensors with at most this many elements keep their values in the file.
INLINE_ELEMENTS = 64
# Networks PyTorch 1.13 cannot export, and the start of the reason it gives.
KNOWN_FAILURES = {
    name: "Exporting the operator 'aten::zero' to ONNX opset version 17 is not supported"
    for name in ("swin_v2_t", "swin_v2_s", "swin_v2_b")
}

try:
    import onnx
    import onnx.numpy_helper
    import torch
    import torchvision
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("make_onnx_fixtures.py: needs torch, torchvision and onnx")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_reference import shrink  # noqa: E402  (zero-stride weights, for the TorchScript trace)


def randomize(model, seed=0):
    """Distinct random values for every floating parameter and buffer (see step 1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=gen) * 0.1 + 0.95)
    return model


def export(model, example, opset, input_name, output_name, dynamic):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, buf, opset_version=opset, input_names=[input_name],
                          output_names=[output_name],
                          dynamic_axes={input_name: dynamic, output_name: dynamic},
                          export_params=False, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    return onnx.load_from_string(buf.getvalue())


def strip_weights(proto, model, file_name):
    """Graph inputs that are state_dict entries become initializers without (large) data."""
    state = {k: v for k, v in model.state_dict().items()}
    keep = []
    for value in proto.graph.input:
        if value.name not in state:
            keep.append(value)
            continue
        t = state[value.name].detach().cpu().contiguous()
        if t.numel() <= INLINE_ELEMENTS:
            tensor = onnx.numpy_helper.from_array(t.numpy(), value.name)
        else:
            tensor = onnx.TensorProto()
            tensor.name = value.name
            tensor.data_type = value.type.tensor_type.elem_type
            tensor.dims.extend(t.shape)
            tensor.data_location = onnx.TensorProto.EXTERNAL
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", file_name + ".data"
        proto.graph.initializer.append(tensor)
    del proto.graph.input[:]
    proto.graph.input.extend(keep)
    return proto


def compact(proto):
    """Shorter files: intermediate values renamed t0, t1, ... (the exporter names each after its
    node, "/features/features.1/features.1.0/attn/Constant_23_output_0", which more than doubles
    the size of a transformer's file), value_info and doc strings dropped; node names (the module
    scopes), inputs, outputs and initializers keep theirs."""
    g = proto.graph
    keep = {v.name for v in g.input} | {v.name for v in g.output} | {t.name for t in g.initializer}
    names = {}

    def rename(name):
        if not name or name in keep:
            return name
        if name not in names:
            names[name] = f"t{len(names)}"
        return names[name]

    for node in g.node:
        node.doc_string = ""
        for k, name in enumerate(node.input):
            node.input[k] = rename(name)
        for k, name in enumerate(node.output):
            node.output[k] = rename(name)
    del g.value_info[:]
    proto.doc_string = ""
    return proto


def check(proto):
    """onnx's checker and strict shape inference, with external tensors as typed inputs."""
    m = onnx.ModelProto()
    m.CopyFrom(proto)
    inits = [t for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    names = {t.name for t in inits}
    kept = [t for t in m.graph.initializer if t.name not in names]
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    for t in inits:
        m.graph.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)


def write(proto, path):
    data = proto.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def transformer_encoder():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128,
                                             batch_first=True)
    return torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()


def export_transformer(report):
    model = randomize(transformer_encoder(), seed=1)
    example = torch.zeros(1, 10, 64)
    for opset, file_name in ((17, "transformer_encoder.onnx"), (14, "transformer_encoder_opset14.onnx")):
        proto = compact(strip_weights(
            export(model, example, opset, "src", "out", {0: "batch", 1: "sequence"}), model,
            file_name))
        check(proto)
        size = write(proto, os.path.join(OUT_DIR, file_name))
        report["networks"][file_name[:-5]] = {"opset": opset, "nodes": len(proto.graph.node),
                                              "bytes": size, "input": [10, 64]}
        print(f"{file_name[:-5]:28s} OK      opset {opset}, {len(proto.graph.node)} nodes, "
              f"{size / 1e3:.0f} kB", flush=True)
    # The TorchScript trace the ONNX files are compared with (fused inference path).
    traced_model = shrink(transformer_encoder())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(traced_model, example, check_trace=False)
    from make_zoo_graphs import save_without_debug  # noqa: E402
    save_without_debug(traced, os.path.join(OUT_DIR, "transformer_encoder.pt"))


def small_models():
    """The hand-made files of the tests (onnx.helper, no torch): a token model for --seq-len
    (tests/data/onnx/tokens.onnx) and the ONNX entries of the bad-input catalogue
    (tests/data/bad/onnx_*.onnx)."""
    from onnx import TensorProto, helper

    def weight(name, dims):
        t = onnx.TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(dims)
        t.data_location = onnx.TensorProto.EXTERNAL
        entry = t.external_data.add()
        entry.key, entry.value = "location", "weights.data"
        return t

    def model(nodes, inputs, outputs, inits, opset):
        graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
        return helper.make_model(graph, producer_name="tools/make_onnx_fixtures.py",
                                 opset_imports=[helper.make_opsetid("", opset)])

    written = {}
    os.makedirs(SMALL_DIR, exist_ok=True)
    # Token ids [batch, sequence] -> embedding -> mean over the sequence -> linear.
    tokens = model(
        [helper.make_node("Gather", ["embed.weight", "input_ids"], ["e"], name="/embed/Gather"),
         helper.make_node("ReduceMean", ["e"], ["m"], name="/ReduceMean", axes=[1], keepdims=0),
         helper.make_node("Gemm", ["m", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm",
                          transB=1)],
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])],
        [weight("embed.weight", [100, 16]), weight("fc.weight", [4, 16]),
         helper.make_tensor("fc.bias", TensorProto.FLOAT, [4], [0.0] * 4)], 13)
    written[os.path.join(SMALL_DIR, "tokens.onnx")] = tokens.SerializeToString()
    # A convolution, then an operator the reader does not lower (CumSum of a tensor).
    unsupported = model(
        [helper.make_node("Conv", ["x", "features.0.weight"], ["c"], name="/features/features.0/Conv",
                          kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Constant", [], ["axis"], name="/features/features.1/Constant",
                          value=helper.make_tensor("v", TensorProto.INT64, [], [1])),
         helper.make_node("CumSum", ["c", "axis"], ["y"], name="/features/features.1/CumSum")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, 8, 8])],
        [weight("features.0.weight", [4, 3, 3, 3])], 13)
    written[os.path.join(BAD_DIR, "onnx_unsupported_op.onnx")] = unsupported.SerializeToString()
    # Height and width left dynamic: --input must give them.
    dynamic = model([helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")],
                    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
                    [], 13)
    written[os.path.join(BAD_DIR, "onnx_dynamic_dim.onnx")] = dynamic.SerializeToString()
    # An opset below the reader's range.
    old = model([helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")],
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 8, 8])], [], 9)
    written[os.path.join(BAD_DIR, "onnx_opset9.onnx")] = old.SerializeToString()
    # The first 40% of a real fixture, and a file whose graph field has an impossible length.
    with open(os.path.join(OUT_DIR, "resnet18.onnx"), "rb") as f:
        real = f.read()
    written[os.path.join(BAD_DIR, "onnx_truncated.onnx")] = real[: len(real) * 2 // 5]
    corrupt = b"\x08\x08\x12\x07pytorch\x3a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" + real[40:200]
    written[os.path.join(BAD_DIR, "onnx_corrupt.onnx")] = corrupt
    for path, data in written.items():
        if "onnx_truncated" in path or "onnx_corrupt" in path:
            try:
                onnx.load_from_string(data)
                sys.exit(f"{path} parses: it would not test a broken file")
            except Exception:  # noqa: BLE001 (the expected failure)
                pass
        with open(path, "wb") as f:
            f.write(data)
        print(f"{os.path.relpath(path, REPO):40s} {len(data)} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these networks")
    parser.add_argument("--check-only", action="store_true",
                        help="check the existing fixtures instead of exporting")
    parser.add_argument("--small-only", action="store_true",
                        help="write only the hand-made files (tokens.onnx, tests/data/bad/onnx_*)")
    args = parser.parse_args()
    if args.small_only:
        small_models()
        return
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)

    if args.check_only:
        bad = 0
        for f in sorted(os.listdir(OUT_DIR)):
            if not f.endswith(".onnx"):
                continue
            try:
                check(onnx.load(os.path.join(OUT_DIR, f), load_external_data=False))
                print(f"{f:36s} OK")
            except Exception as e:  # noqa: BLE001 (reported)
                bad += 1
                print(f"{f:36s} FAILED {str(e).splitlines()[0]}")
        sys.exit(1 if bad else 0)

    with open(REFERENCE_JSON) as f:
        reference = json.load(f)["networks"]
    report = {"generated_by": "tools/make_onnx_fixtures.py", "torch": torch.__version__,
              "torchvision": torchvision.__version__, "onnx": onnx.__version__,
              "inline_elements": INLINE_ELEMENTS, "networks": {}, "failed": {}}
    if os.path.exists(REPORT_JSON) and args.only:
        with open(REPORT_JSON) as f:
            old = json.load(f)
        report["networks"].update(old.get("networks", {}))
        report["failed"].update(old.get("failed", {}))

    names = torchvision.models.list_models(module=torchvision.models)
    if args.only:
        unknown = set(args.only) - set(names) - {"transformer_encoder"}
        if unknown:
            sys.exit(f"not a torchvision classification model: {sorted(unknown)}")
        names = [n for n in names if n in args.only]
    start = time.time()
    for name in names:
        t0 = time.time()
        input_shape = reference.get(name, {}).get("input") or [3, 224, 224]
        opset = OPSET.get(name, DEFAULT_OPSET)
        path = os.path.join(OUT_DIR, f"{name}.onnx")
        report["networks"].pop(name, None)
        report["failed"].pop(name, None)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = randomize(torchvision.models.get_model(name, weights=None).eval())
            proto = export(model, torch.zeros([1] + input_shape), opset, "x", "logits", {0: "batch"})
            proto = compact(strip_weights(proto, model, f"{name}.onnx"))
            check(proto)
            size = write(proto, path)
            ops = collections.Counter(n.op_type for n in proto.graph.node)
            report["networks"][name] = {"opset": opset, "nodes": len(proto.graph.node),
                                        "bytes": size, "input": input_shape,
                                        "op_types": dict(sorted(ops.items()))}
            print(f"{name:28s} OK      opset {opset}, {len(proto.graph.node)} nodes, "
                  f"{size / 1e3:.0f} kB ({time.time() - t0:.1f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 (reported)
            reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            report["failed"][name] = f"{type(e).__name__}: {reason}"
            print(f"{name:28s} FAILED  {type(e).__name__}: {reason}", flush=True)
            if os.path.exists(path):
                os.remove(path)
        finally:
            model = None
    if not args.only or "transformer_encoder" in args.only:
        export_transformer(report)
    small_models()

    with open(REPORT_JSON, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    unexpected = {n: r for n, r in report["failed"].items()
                  if n not in KNOWN_FAILURES or KNOWN_FAILURES[n] not in r}
    print(f"\n{len(report['networks'])} exported, {len(report['failed'])} failed"
          f"{': ' + ', '.join(sorted(report['failed'])) if report['failed'] else ''}; "
          f"tests/data/zoo_onnx: {total / 1e6:.1f} MB; {time.time() - start:.0f} s")
    if unexpected:
        print(f"unexpected failures: {sorted(unexpected)}")
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
