#!/usr/bin/env python3
"""One transformer block of a NeuSight torch.fx trace as a compact operator list (test data).

    tools/neusight_block_rows.py TRACE.csv BLOCK_PREFIX CONFIG > tests/data/hf/NAME.json

TRACE.csv is a labels/<GPU>/<model>-inf-<seq>-<batch>.csv of ../shared/datasets/neusight2025 (Lee et
al., NeuSight, ASPLOS 2025; sitar-lab/NeuSight commit 6945927, MIT licence): a torch.fx trace of
a Hugging Face model (transformers' eager code, PyTorch 2.1), one row per fx node with its target,
arguments, module stack (meta), output shape and dtype. BLOCK_PREFIX names the block
("bert.encoder.layer.0", "transformer.h.0"); CONFIG the zoo config the trace was made from.

The rows kept are the block's tensor operations, in trace order, each as
[op, [input shapes], [output shapes]] with the op named as joulecast's registry names it, so that
tests/frontends/hf_config_test.cpp compares them node for node with the graph the Hugging Face
reader builds. Rules (what the trace records that the operator graph does not, or records
differently):
  - rows without a tensor dtype are Python arithmetic on sizes (size, getitem of a size, add of
    tuples, getattr, finfo, dim, eq): dropped
  - get_attr rows (parameters and buffers) and `full` rows (0-d scalar tensors) are values, not
    operations: dropped, and so are the inputs they give (the registry takes weights as
    parameters and scalar operands as attributes)
  - `to` / `type` casts to the dtype a tensor already has return it unchanged: dropped, their users
    read the cast's input
  - a getitem of a split result is one output of the split: the split row gets every piece's shape
    as its outputs
  - a getitem with slices becomes one `slice` row per sliced dimension (slice(None, None, None)
    slices nothing), the first reading the input, the next its result; a getitem with an integer
    index becomes `select`
  - the operations that run inside an activation module that torch.fx traced through
    (NewGELUActivation's mul, pow, mul, add, mul, tanh, add, mul) are one `gelu` row, input of
    the first, output of the last: the registry's gelu with approximate='tanh' computes them
  - names map to the registry: call_module Linear -> linear, LayerNorm -> layer_norm, Dropout ->
    dropout, Embedding -> embedding; addmm -> linear; matmul/bmm -> matmul; view/reshape ->
    reshape; truediv -> div; other names unchanged
Output shapes are as the trace has them; input shapes are the output shapes of the argument nodes
that remain (after the rules), in argument order.
"""
import csv
import json
import re
import sys

ACTIVATION_MODULES = ("NewGELUActivation",)
MODULE_OPS = {"Linear": "linear", "LayerNorm": "layer_norm", "Dropout": "dropout",
              "Embedding": "embedding", "Tanh": "tanh", "ReLU": "relu", "GELU": "gelu"}
FUNCTION_OPS = [("addmm", "linear"), ("matmul", "matmul"), ("bmm", "matmul"),
                ("truediv", "div"), ("softmax", "softmax"), ("gelu", "gelu"), ("where", "where"),
                ("tanh", "tanh"), ("pow", "pow"), ("mul", "mul"), ("add", "add"), ("sub", "sub"),
                ("dropout", "dropout"), ("embedding", "embedding")]
METHOD_OPS = {"view": "reshape", "reshape": "reshape", "permute": "permute",
              "transpose": "transpose", "contiguous": "contiguous", "split": "split",
              "expand": "expand"}


def shape(text):
    return [int(x) for x in re.findall(r"-?\d+", text)]


def stack(meta):
    """(module path, class name) pairs of the nn_module_stack, outermost first."""
    return re.findall(r"\('([^']*)', <class '[\w.]*\.(\w+)'>\)", meta)


def main():
    path, prefix, config = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = list(csv.DictReader(open(path)))
    by_name = {r["Name"]: r for r in rows}
    names = set(by_name)
    alias = {}  # dropped no-op casts: name -> the name they return
    out = []
    pending_split = {}  # split row name -> index in out
    gelu_open = None  # module path of the activation being collapsed

    def resolve(n):
        while n in alias:
            n = alias[n]
        return n

    def tensor_args(r):
        shapes = []
        for token in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", r["_args"]):
            if token not in names:
                continue
            a = by_name[resolve(token)]
            if not a["dtype"].startswith("torch.") or a["op"] == "get_attr":
                continue
            if "full" in a["target"] and a["op"] == "call_function":
                continue
            shapes.append(shape(a["output_shape"]))
        return shapes

    for r in rows:
        mods = stack(r["meta"])
        inside = any(p == prefix or p.startswith(prefix + ".") for p, _ in mods)
        is_tensor = r["dtype"].startswith("torch.")
        if r["op"] == "call_method" and r["target"] == "split" and inside:
            out.append(["split", tensor_args(r), []])
            pending_split[r["Name"]] = len(out) - 1
            continue
        if not inside or not is_tensor or r["op"] in ("get_attr", "placeholder", "output"):
            continue
        target = r["target"]
        if r["op"] == "call_function" and "full" in target:
            continue
        if r["op"] == "call_method" and target in ("to", "type"):
            src = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", r["_args"])[0]
            s = by_name[resolve(src)]
            if s["dtype"] == r["dtype"] and shape(s["output_shape"]) == shape(r["output_shape"]):
                alias[r["Name"]] = src
                continue
        act = [p for p, cls in mods if cls in ACTIVATION_MODULES]
        if act:
            if gelu_open != act[-1]:
                gelu_open = act[-1]
                out.append(["gelu", tensor_args(r)[-1:], [shape(r["output_shape"])]])
            else:
                out[-1][2] = [shape(r["output_shape"])]
            continue
        gelu_open = None
        if r["op"] == "call_module":
            op = MODULE_OPS[mods[-1][1]]
        elif r["op"] == "call_method":
            op = METHOD_OPS[target]
        elif "getitem" in target:
            src = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", r["_args"])[0]
            if src in pending_split:
                out[pending_split[src]][2].append(shape(r["output_shape"]))
                continue
            index = r["_args"].split(",", 1)[1]
            slices = re.findall(r"slice\(([^)]*)\)", index)
            if not slices:
                op = "select"
            else:
                res = shape(r["output_shape"])
                cur = shape(by_name[resolve(src)]["output_shape"])
                ins = tensor_args(r)
                for dim, sl in enumerate(slices):
                    if sl.replace(" ", "") == "None,None,None":
                        continue
                    nxt = list(cur)
                    nxt[dim] = res[dim]
                    out.append(["slice", ins, [nxt]])
                    ins, cur = [nxt], nxt
                continue
        else:
            op = next((o for key, o in FUNCTION_OPS if key in target), None)
            if op is None:
                raise SystemExit(f"{r['Name']}: no rule for {target}")
        out.append([op, tensor_args(r), [shape(r["output_shape"])]])

    m = re.search(r"-(\d+)-(\d+)\.csv$", path)
    doc = {
        "source": "../shared/datasets/neusight2025 " + re.sub(r".*/(labels/)", r"\1", path) +
                  " (Lee et al., NeuSight, ASPLOS 2025; sitar-lab/NeuSight commit 6945927, MIT "
                  "licence): torch.fx trace of transformers' eager model, PyTorch 2.1",
        "made_by": "tools/neusight_block_rows.py (rules in its docstring)",
        "config": config,
        "block": prefix,
        "seq_len": int(m.group(1)),
        "batch": int(m.group(2)),
        "rows": out,
    }
    text = json.dumps(doc, indent=1)
    # One row per line: [op, inputs, outputs].
    text = re.sub(r"\[\n\s*\"(\w+)\",\n(.*?)\n  \]",
                  lambda mm: "[\"" + mm.group(1) + "\", " +
                  re.sub(r"\s+", "", mm.group(2)).replace(",", ", ") + "]",
                  text, flags=re.S)
    print(text)


if __name__ == "__main__":
    main()
