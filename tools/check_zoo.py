#!/usr/bin/env python3
"""Checks the architecture zoo (data/architectures/*.json) against torchvision.

For every zoo network that torchvision can build (torchvision.models.<name>(weights=None)), this
script reads the JSON as joulecast's parser does (containers Sequential / Residual / Concat, with
"split"; functional layers and containers; "repeat" leaves; names and indices; defaults filled in,
kernel_size/stride/padding/dilation/output_size as [h, w]) and compares it with the model:

  leaves      the JSON's module leaves and torchvision's leaf modules (modules without children;
              empty containers such as ShuffleNetV2's unused branch1 Sequentials are no layers and
              are left out) are the same set of names, and each has the same class and constructor
              arguments on both sides;
  order       the JSON lists its leaves in the order of their first call in torchvision's forward()
              (forward hooks fire in call order);
  calls       the JSON's module calls and repeats, in execution order, are exactly the leaf module
              calls of torchvision's forward() (repeats included);
  parameters  the parameter count computed from the JSON arguments equals
              sum(p.numel() for p in model.parameters());
  execution   running the JSON (its module leaves and repeats call torchvision's modules of the same
              name, functional leaves and containers do what the JSON says) gives torchvision's
              output, in double precision with random batch-norm statistics, to 1e-10 relative.

It then records, per network, torchvision's leaves in first-call order with the per-sample output
and input shapes of their first call (forward hooks on a batch of one sample of the JSON's "input"
shape, batch dimension removed), the sequence of leaf module calls and the network's output shape
in tests/data/zoo_shapes.json, the fixture that tests/arch/zoo_test.cpp checks joulecast's
InferShapes and InferOperations against.

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
META = {"type", "name", "functional", "repeat"}
CONTAINERS = {"Sequential": {"layers"}, "Residual": {"body", "shortcut"},
              "Concat": {"branches", "split"}}

# Arguments joulecast knows per type, with PyTorch's defaults (None = required, except for the
# pools' stride, where None means kernel_size and Softmax's dim, where None is the default).
DEFAULTS = {
    "AdaptiveAvgPool2d": {"output_size": None},
    "AvgPool2d": {"kernel_size": None, "stride": None, "padding": 0, "ceil_mode": False,
                  "count_include_pad": True},
    "BatchNorm2d": {"num_features": None, "eps": 1e-5, "momentum": 0.1, "affine": True,
                    "track_running_stats": True},
    "ChannelShuffle": {"groups": None},
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
    unknown = set(args) - set(DEFAULTS[type_name]) - META
    if unknown:
        raise ValueError(f"unknown arguments {sorted(unknown)} for {type_name}")
    return out


class Node:
    """A parsed layer: a leaf (kind "module", "repeat" or "functional") or a container."""

    def __init__(self, type_name, name, kind, params=None, split=False):
        self.type = type_name
        self.name = name  # full path; a functional container's is its scope's
        self.kind = kind
        self.params = params
        self.split = split
        self.layers = []  # Sequential children / Residual body
        self.shortcut = []
        self.branches = []


class Parser:
    """joulecast's architecture parser (src/arch/architecture.cpp), re-implemented for the check.

    Naming: an unnamed module takes "<scope>.<index>"; an unnamed functional leaf
    "<scope>.<type in lower case>"; a name without a dot is local to the scope, a dotted one is a
    full path. Module layers (leaves and non-functional containers) take the next index of their
    scope; functional layers and repeats take none. A functional container has no name: its
    children are named and numbered in the enclosing scope. A repeat names an earlier module leaf
    of the same type, whose arguments it takes (any it states must agree).
    """

    def __init__(self):
        self.names = set()
        self.leaves = {}

    def parse_list(self, layers, scope, index):
        if not isinstance(layers, list):
            raise ValueError(f"{scope or 'top level'}: expected a list of layers, got {layers!r}")
        return [self.parse(layer, scope, index) for layer in layers]

    def full_name(self, layer, scope, local):
        name = layer.get("name")
        if name is None:
            return f"{scope}.{local}" if scope else local
        if not isinstance(name, str) or not name or name.startswith(".") or name.endswith(".") \
                or ".." in name:
            raise ValueError(f"malformed name {name!r} in {scope or 'top level'}")
        if "." not in name:
            return f"{scope}.{name}" if scope else name
        if scope and not name.startswith(scope + "."):
            raise ValueError(f"dotted name {name!r} does not start with {scope + '.'!r}")
        return name

    def register(self, name):
        if name in self.names:
            raise ValueError(f"duplicate layer name {name!r}")
        self.names.add(name)

    def parse(self, layer, scope, index):
        t = layer["type"]
        functional = layer.get("functional", False)
        is_repeat = layer.get("repeat", False)
        if functional and is_repeat:
            raise ValueError(f"{layer.get('name', t)}: both functional and a repeat")
        if t in CONTAINERS:
            if is_repeat:
                raise ValueError(f"{scope}: a {t} cannot be a repeat")
            unknown = set(layer) - META - CONTAINERS[t]
            if unknown:
                raise ValueError(f"{scope}: unknown fields {sorted(unknown)} for {t}")
            if functional:
                if "name" in layer:
                    raise ValueError(f"{scope}: a functional {t} has no name of its own")
                node, inner_scope, inner_index = Node(t, scope, "functional"), scope, index
            else:
                node = Node(t, self.full_name(layer, scope, str(index[0])), "module")
                index[0] += 1
                self.register(node.name)
                inner_scope, inner_index = node.name, [0]
            if t == "Sequential":
                node.layers = self.parse_list(layer["layers"], inner_scope, inner_index)
            elif t == "Residual":
                node.layers = self.parse_list(layer["body"], inner_scope, inner_index)
                if not node.layers:
                    raise ValueError(f"{node.name}: empty Residual body")
                node.shortcut = self.parse_list(layer.get("shortcut", []), inner_scope,
                                                inner_index)
            else:
                if not layer["branches"]:
                    raise ValueError(f"{node.name}: Concat without branches")
                node.branches = [self.parse_list(b, inner_scope, inner_index)
                                 for b in layer["branches"]]
                node.split = layer.get("split", False)
            return node
        if is_repeat:
            if "name" not in layer:
                raise ValueError(f"{scope}: a repeat needs a name")
            name = self.full_name(layer, scope, None)
            earlier = self.leaves.get(name)
            if earlier is None:
                raise ValueError(f"{name}: repeat of no earlier module leaf")
            if earlier.type != t:
                raise ValueError(f"{name}: repeat says {t}, the module is a {earlier.type}")
            params = normalise(t, {**earlier.params, **{k: v for k, v in layer.items()
                                                         if k not in META}})
            if params != earlier.params:
                raise ValueError(f"{name}: repeat arguments {params} differ from {earlier.params}")
            return Node(t, name, "repeat", params)
        if functional:
            name = self.full_name(layer, scope, t.lower())
            return Node(t, name, "functional", normalise(t, layer))
        node = Node(t, self.full_name(layer, scope, str(index[0])), "module", normalise(t, layer))
        index[0] += 1
        self.register(node.name)
        self.leaves[node.name] = node
        return node


def parse_architecture(arch):
    unknown = set(arch) - {"name", "description", "input", "layers"}
    if unknown:
        raise ValueError(f"unknown top-level fields {sorted(unknown)}")
    layers = Parser().parse_list(arch["layers"], "", [0])
    if not layers:
        raise ValueError("no layers")
    return layers


def operations(layers):
    """(name, type, kind) of every operation in execution order, as joulecast's InferOperations:
    leaves, then "<scope>.add" after a Residual and "<scope>.cat" after a Concat."""
    ops = []
    for node in layers:
        if node.type == "Sequential":
            ops += operations(node.layers)
        elif node.type == "Residual":
            ops += operations(node.layers) + operations(node.shortcut)
            ops.append((f"{node.name}.add" if node.name else "add", "Add", "functional"))
        elif node.type == "Concat":
            for branch in node.branches:
                ops += operations(branch)
            ops.append((f"{node.name}.cat" if node.name else "cat", "Cat", "functional"))
        else:
            ops.append((node.name, node.type, node.kind))
    return ops


def module_leaves(layers):
    """(name, type, params) of the module leaves, in order of their first call."""
    out = []
    for node in layers:
        if node.type in CONTAINERS:
            for sub in [node.layers, node.shortcut] + node.branches:
                out += module_leaves(sub)
        elif node.kind == "module":
            out.append((node.name, node.type, node.params))
    return out


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
    elif isinstance(m, nn.ChannelShuffle):
        args = dict(groups=m.groups)
    elif isinstance(m, (nn.Sigmoid, nn.Tanh, nn.Identity)):
        args = {}
    else:
        raise ValueError(f"no joulecast equivalent for {t}")
    return normalise(t, args)


def is_empty_container(module):
    nn = torch.nn
    return isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)) and not list(
        module.children())


def functional_module(node):
    """A torch module doing what a functional leaf does (no parameters, so none is shared)."""
    args = {k: tuple(v) if k in PAIRS else v for k, v in node.params.items()}
    module = getattr(torch.nn, node.type)(**args)
    if list(module.parameters()):
        raise ValueError(f"{node.name}: a functional {node.type} would need parameters")
    return module


def run_json(layers, x, modules):
    """Executes the parsed JSON on x: module leaves and repeats call modules[name]."""
    for node in layers:
        if node.type == "Sequential":
            x = run_json(node.layers, x, modules)
        elif node.type == "Residual":
            x = run_json(node.layers, x, modules) + run_json(node.shortcut, x, modules)
        elif node.type == "Concat":
            inputs = x.chunk(len(node.branches), 1) if node.split else [x] * len(node.branches)
            x = torch.cat([run_json(b, i, modules) for b, i in zip(node.branches, inputs)], 1)
        elif node.kind == "functional":
            x = functional_module(node)(x)
        else:
            x = modules[node.name](x)
    return x


def randomise_batch_norms(model):
    """Non-trivial batch-norm statistics and affine parameters, so that an order mistake shows."""
    generator = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=generator, dtype=torch.float64) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=generator, dtype=torch.float64) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator, dtype=torch.float64) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=generator, dtype=torch.float64) - 0.5)


def sequence_problem(what, mine, theirs):
    """A one-line description of the first difference between two sequences, or None."""
    if mine == theirs:
        return None
    i = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine),
                                                                               len(theirs)))
    at = lambda s: s[i] if i < len(s) else "(end)"
    return (f"{what}: {len(mine)} in the JSON, {len(theirs)} in torchvision; first difference at "
            f"{i}: JSON {at(mine)}, torchvision {at(theirs)}")


def check(name, arch):
    """Returns (problems, summary, record) for one zoo network."""
    model = getattr(torchvision.models, name)(weights=None).eval()
    all_leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    torch_leaves = {n: m for n, m in all_leaves if not is_empty_container(m)}
    empty = len(all_leaves) - len(torch_leaves)
    problems = []
    try:
        tree = parse_architecture(arch)
        mine = module_leaves(tree)
    except (KeyError, ValueError, TypeError) as e:
        return [f"cannot read the JSON: {e!r}"], "", None
    ops = operations(tree)

    # Leaves: same names, classes and arguments.
    mine_by_name = {n: (t, p) for n, t, p in mine}
    for n in sorted(set(mine_by_name) - set(torch_leaves)):
        problems.append(f"leaf {n} ({mine_by_name[n][0]}) is in the JSON only")
    for n in sorted(set(torch_leaves) - set(mine_by_name)):
        problems.append(f"leaf {n} ({type(torch_leaves[n]).__name__}) is in torchvision only")
    for n, (jtype, jparams) in mine_by_name.items():
        if n not in torch_leaves:
            continue
        ttype = type(torch_leaves[n]).__name__
        try:
            tparams = torch_args(torch_leaves[n])
        except ValueError as e:
            problems.append(f"leaf {n}: {e}")
            continue
        if jtype != ttype:
            problems.append(f"leaf {n}: JSON {jtype}, torchvision {ttype}")
        elif jparams != tparams:
            diff = {k: (jparams.get(k), tparams.get(k)) for k in set(jparams) | set(tparams)
                    if jparams.get(k) != tparams.get(k)}
            problems.append(f"leaf {n}: arguments differ (JSON, torchvision): {diff}")

    params_json = json_parameter_count(mine)
    params_torch = sum(p.numel() for p in model.parameters())
    if params_json != params_torch:
        problems.append(f"{params_json} parameters from the JSON, {params_torch} in torchvision")

    # torchvision's leaf calls, in call order (a forward hook fires when its module returns, and a
    # leaf calls no other module).
    model = model.double()
    with torch.no_grad():
        randomise_batch_norms(model)
    calls = []
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, n=n: calls.append(
            (n, type(mod).__name__, list(inp[0].shape[1:]), list(out.shape[1:]))))
        for n, m in torch_leaves.items()]
    x = torch.randn([1] + list(arch["input"]), dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(x.clone())
    for h in hooks:
        h.remove()

    first = {}
    for n, t, shape_in, shape_out in calls:
        first.setdefault(n, [n, t, shape_out, shape_in])
    problem = sequence_problem("leaf order (first calls)", [n for n, _, _ in mine], list(first))
    if problem:
        problems.append(problem)
    json_calls = [n for n, _, kind in ops if kind in ("module", "repeat")]
    problem = sequence_problem("module calls", json_calls, [c[0] for c in calls])
    if problem:
        problems.append(problem)

    # Execution: the JSON run with torchvision's modules must reproduce torchvision's output.
    difference = None
    try:
        with torch.no_grad():
            got = run_json(tree, x.clone(), torch_leaves)
        if got.shape != expected.shape:
            problems.append(f"execution: the JSON gives {list(got.shape[1:])}, torchvision "
                            f"{list(expected.shape[1:])}")
        else:
            difference = ((got - expected).abs().max() / expected.abs().max().clamp(min=1e-300))
            difference = float(difference)
            if not difference <= 1e-10:
                problems.append(f"execution: output differs from torchvision's by {difference:.3g} "
                                "(relative to its largest value)")
    except (RuntimeError, ValueError, KeyError) as e:
        problems.append(f"execution: running the JSON fails: {e}")

    repeats = sum(1 for _, _, kind in ops if kind == "repeat")
    summary = (f"{len(mine)} leaves, {len(json_calls)} module calls ({repeats} repeats), "
               f"{len(ops)} operations, {params_torch} parameters, output "
               f"{'x'.join(map(str, expected.shape[1:]))}, execution difference "
               f"{difference if difference is not None else float('nan'):.1e}")
    if empty:
        summary += f"; {empty} empty containers not counted as leaves"
    record = {"input": arch["input"], "output": list(expected.shape[1:]),
              "leaves": list(first.values()), "calls": [c[0] for c in calls]}
    return problems, summary, record


def wrap(items, indent, width=100):
    """JSON values joined by ", " into lines of at most `width` characters."""
    lines, line = [], ""
    for i, item in enumerate(items):
        text = json.dumps(item) + ("," if i < len(items) - 1 else "")
        if line and len(indent) + len(line) + 1 + len(text) > width:
            lines.append(indent + line)
            line = text
        else:
            line = f"{line} {text}" if line else text
    if line:
        lines.append(indent + line)
    return lines


def write_fixture(results):
    lines = ["{",
             '  "generated_by": "tools/check_zoo.py",',
             f'  "torch": {json.dumps(torch.__version__)},',
             f'  "torchvision": {json.dumps(torchvision.__version__)},',
             '  "note": "per network: input and output per-sample shapes; leaves in order of first '
             'call: [name, type, per-sample output shape, per-sample input shape] of the first '
             'call, from forward hooks; calls: every leaf module call of forward() in order, '
             'repeats included",',
             '  "networks": {']
    names = sorted(results)
    for i, name in enumerate(names):
        r = results[name]
        lines.append(f'    {json.dumps(name)}: {{"input": {json.dumps(r["input"])}, '
                     f'"output": {json.dumps(r["output"])}, "leaves": [')
        lines += ["      " + json.dumps(s) + ("," if j < len(r["leaves"]) - 1 else "")
                  for j, s in enumerate(r["leaves"])]
        lines.append('    ], "calls": [')
        lines += wrap(r["calls"], "      ")
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
        problems, summary, record = check(name, arch)
        if problems:
            failed = True
            print(f"MISMATCH {name}: {len(problems)} problem(s)")
            for p in problems:
                print(f"    {p}")
        else:
            print(f"OK       {name}: {summary}")
            results[name] = record
    if not args.no_write and not failed and results:
        write_fixture(results)
        print(f"wrote {os.path.relpath(FIXTURE, REPO)} ({len(results)} networks)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
