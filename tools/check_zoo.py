#!/usr/bin/env python3
"""Checks the architecture zoo (data/architectures/*.json) against torchvision.

For every zoo network that torchvision can build (torchvision.models.<name>(weights=None)), this
script compares, leaf by leaf in the order of
    [m for m in model.modules() if not list(m.children())]
the name, the class and the constructor arguments (normalised as joulecast does: defaults filled
in, kernel_size/stride/padding/dilation/output_size as [h, w]) with the leaves that joulecast's
parser derives from the JSON (containers and "functional" layers omitted), and compares the total
parameter count computed from the JSON arguments with sum(p.numel() for p in model.parameters()).

It then records torchvision's per-leaf output shapes (forward hooks on a batch of one sample of
the JSON's "input" shape, batch dimension removed) in tests/data/zoo_shapes.json, the fixture that
tests/arch/zoo_test.cpp checks joulecast's shape inference against.

Prints one line per network (OK / MISMATCH / SKIP, mismatch details indented below) and exits 1 on
any mismatch. Needs torch and torchvision (Debian: apt-get install python3-torchvision); when the
running interpreter lacks them it re-runs itself under /usr/bin/python3.

Usage: tools/check_zoo.py [--no-write] [NAME ...]
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_DIR = os.path.join(REPO, "data", "architectures")
FIXTURE = os.path.join(REPO, "tests", "data", "zoo_shapes.json")

try:
    import torch
    import torchvision
except ImportError:
    # pyenv or venv interpreters usually lack Debian's python3-torch; use the system one.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("check_zoo.py: needs torch and torchvision (apt-get install python3-torchvision)")

PAIRS = {"kernel_size", "stride", "padding", "dilation", "output_size"}

# Arguments joulecast knows per type, with PyTorch's defaults (None = required, except for the
# pools' stride, where None means kernel_size and Softmax's dim, where None is the default).
DEFAULTS = {
    "AdaptiveAvgPool2d": {"output_size": None},
    "AvgPool2d": {"kernel_size": None, "stride": None, "padding": 0, "ceil_mode": False,
                  "count_include_pad": True},
    "BatchNorm2d": {"num_features": None, "eps": 1e-5, "momentum": 0.1, "affine": True,
                    "track_running_stats": True},
    "Conv2d": {"in_channels": None, "out_channels": None, "kernel_size": None, "stride": 1,
               "padding": 0, "dilation": 1, "groups": 1, "bias": True},
    "Dropout": {"p": 0.5, "inplace": False},
    "Flatten": {"start_dim": 1, "end_dim": -1},
    "Identity": {},
    "Linear": {"in_features": None, "out_features": None, "bias": True},
    "MaxPool2d": {"kernel_size": None, "stride": None, "padding": 0, "dilation": 1,
                  "ceil_mode": False},
    "ReLU": {"inplace": False},
    "ReLU6": {"inplace": False},
    "Sigmoid": {},
    "Softmax": {"dim": None},
    "Tanh": {},
}
OPTIONAL_NONE = {("Softmax", "dim"), ("MaxPool2d", "stride"), ("AvgPool2d", "stride")}


def normalise(type_name, args):
    """Fills defaults and turns sizes into [h, w] lists, as joulecast's NormalizeLayerParams."""
    if type_name not in DEFAULTS:
        raise ValueError(f"unknown layer type {type_name!r}")
    out = {}
    for key, default in DEFAULTS[type_name].items():
        value = args.get(key, default)
        if value is None and default is None and (type_name, key) not in OPTIONAL_NONE:
            raise ValueError(f"missing argument {key!r} for {type_name}")
        if key in PAIRS and value is not None:
            value = list(value) if isinstance(value, (list, tuple)) else [value, value]
        out[key] = value
    if "stride" in out and out["stride"] is None:
        out["stride"] = out["kernel_size"]
    unknown = set(args) - set(DEFAULTS[type_name]) - {"type", "name", "functional"}
    if unknown:
        raise ValueError(f"unknown arguments {sorted(unknown)} for {type_name}")
    return out


def json_leaves(layers, parent=""):
    """(name, type, params) of the module leaves of a JSON layer list, as joulecast names them."""
    leaves = []
    index = 0
    for layer in layers:
        functional = layer.get("functional", False)
        if "name" not in layer:
            local = layer["type"].lower() if functional else str(index)
            name = f"{parent}.{local}" if parent else local
        elif "." in layer["name"]:
            name = layer["name"]
        else:
            name = f"{parent}.{layer['name']}" if parent else layer["name"]
        if not functional:
            index += 1
        if layer["type"] == "Sequential":
            leaves += json_leaves(layer["layers"], name)
        elif not functional:
            leaves.append((name, layer["type"], normalise(layer["type"], layer)))
    return leaves


def json_parameter_count(leaves):
    total = 0
    for _, type_name, p in leaves:
        if type_name == "Conv2d":
            kh, kw = p["kernel_size"]
            total += p["out_channels"] * (p["in_channels"] // p["groups"]) * kh * kw
            total += p["out_channels"] if p["bias"] else 0
        elif type_name == "Linear":
            total += p["in_features"] * p["out_features"] + (p["out_features"] if p["bias"] else 0)
        elif type_name == "BatchNorm2d" and p["affine"]:
            total += 2 * p["num_features"]
    return total


def torch_args(module):
    """The constructor arguments of a torch leaf module under PyTorch's names, normalised."""
    nn = torch.nn
    t = type(module).__name__
    m = module
    if isinstance(m, nn.Conv2d):
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise ValueError(f"unsupported Conv2d padding {m.padding!r}/{m.padding_mode!r}")
        args = dict(in_channels=m.in_channels, out_channels=m.out_channels,
                    kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                    dilation=m.dilation, groups=m.groups, bias=m.bias is not None)
    elif isinstance(m, nn.Linear):
        args = dict(in_features=m.in_features, out_features=m.out_features,
                    bias=m.bias is not None)
    elif isinstance(m, nn.MaxPool2d):
        if m.return_indices:
            raise ValueError("MaxPool2d with return_indices is not supported")
        args = dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                    dilation=m.dilation, ceil_mode=m.ceil_mode)
    elif isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            raise ValueError("AvgPool2d with divisor_override is not supported")
        args = dict(kernel_size=m.kernel_size, stride=m.stride, padding=m.padding,
                    ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad)
    elif isinstance(m, nn.AdaptiveAvgPool2d):
        args = dict(output_size=m.output_size)
    elif isinstance(m, nn.BatchNorm2d):
        args = dict(num_features=m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                    track_running_stats=m.track_running_stats)
    elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.Dropout)):
        args = dict(inplace=m.inplace)
        if isinstance(m, nn.Dropout):
            args["p"] = m.p
    elif isinstance(m, nn.Flatten):
        args = dict(start_dim=m.start_dim, end_dim=m.end_dim)
    elif isinstance(m, nn.Softmax):
        args = dict(dim=m.dim)
    elif isinstance(m, (nn.Sigmoid, nn.Tanh, nn.Identity)):
        args = {}
    else:
        raise ValueError(f"no joulecast equivalent for {t}")
    return normalise(t, args)


def check(name, arch):
    """Returns (problems, summary, shapes) for one zoo network."""
    model = getattr(torchvision.models, name)(weights=None).eval()
    torch_leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    problems = []
    try:
        mine = json_leaves(arch["layers"])
    except (KeyError, ValueError) as e:
        return [f"cannot read the JSON: {e}"], "", []
    if len(mine) != len(torch_leaves):
        problems.append(f"{len(mine)} leaves in the JSON, {len(torch_leaves)} in torchvision")
    for i, ((jname, jtype, jparams), (tname, tmod)) in enumerate(zip(mine, torch_leaves)):
        ttype = type(tmod).__name__
        try:
            tparams = torch_args(tmod)
        except ValueError as e:
            problems.append(f"leaf {i} ({tname}): {e}")
            continue
        if (jname, jtype) != (tname, ttype):
            problems.append(f"leaf {i}: JSON {jname} ({jtype}), torchvision {tname} ({ttype})")
        elif jparams != tparams:
            diff = {k: (jparams.get(k), tparams.get(k)) for k in set(jparams) | set(tparams)
                    if jparams.get(k) != tparams.get(k)}
            problems.append(f"leaf {i} ({tname}): arguments differ (JSON, torchvision): {diff}")
    params_json = json_parameter_count(mine)
    params_torch = sum(p.numel() for p in model.parameters())
    if params_json != params_torch:
        problems.append(f"{params_json} parameters from the JSON, {params_torch} in torchvision")

    shapes = []
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, n=n, m=m: shapes.append([n, type(m).__name__, list(out.shape[1:])]))
        for n, m in torch_leaves]
    with torch.no_grad():
        out = model(torch.zeros([1] + list(arch["input"])))
    for h in hooks:
        h.remove()
    summary = (f"{len(torch_leaves)} leaves, {params_torch} parameters, output "
               f"{'x'.join(map(str, out.shape[1:]))}")
    return problems, summary, shapes


def write_fixture(results):
    lines = ["{",
             '  "generated_by": "tools/check_zoo.py",',
             f'  "torch": {json.dumps(torch.__version__)},',
             f'  "torchvision": {json.dumps(torchvision.__version__)},',
             '  "note": "per leaf: [name, type, per-sample output shape] from forward hooks",',
             '  "networks": {']
    names = sorted(results)
    for i, name in enumerate(names):
        input_shape, shapes = results[name]
        lines.append(f'    {json.dumps(name)}: {{"input": {json.dumps(input_shape)}, "leaves": [')
        lines += ["      " + json.dumps(s) + ("," if j < len(shapes) - 1 else "")
                  for j, s in enumerate(shapes)]
        lines.append("    ]}" + ("," if i < len(names) - 1 else ""))
    lines += ["  }", "}"]
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not rewrite {os.path.relpath(FIXTURE, REPO)}")
    parser.add_argument("names", nargs="*", help="zoo names (default: every zoo file)")
    args = parser.parse_args()

    names = args.names or sorted(f[:-5] for f in os.listdir(ZOO_DIR) if f.endswith(".json"))
    torch.manual_seed(0)
    failed = False
    results = {}
    for name in names:
        path = os.path.join(ZOO_DIR, name + ".json")
        try:
            with open(path) as f:
                arch = json.load(f)
        except (OSError, ValueError) as e:
            print(f"MISMATCH {name}: cannot read {path}: {e}")
            failed = True
            continue
        if not hasattr(torchvision.models, name):
            print(f"SKIP     {name}: torchvision has no model of this name")
            continue
        problems, summary, shapes = check(name, arch)
        if problems:
            failed = True
            print(f"MISMATCH {name}: {len(problems)} problem(s)")
            for p in problems:
                print(f"    {p}")
        else:
            print(f"OK       {name}: {summary}")
            results[name] = (arch["input"], shapes)
    if not args.no_write and not failed and results:
        write_fixture(results)
        print(f"wrote {os.path.relpath(FIXTURE, REPO)} ({len(results)} networks)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
