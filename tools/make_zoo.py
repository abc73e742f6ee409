#!/usr/bin/env python3
"""Writes zoo architecture files (data/architectures/<name>.json) from torchvision 0.14 models.

Each network is built with torchvision.models.<name>(weights=None) and translated into the
architecture JSON of data/architectures/README.md. Module leaves are read from the built model
(constructor arguments under PyTorch's names, defaults left out); what forward() does beyond
calling its registered children is written out per class from torchvision 0.14's source:

  ResNet            conv1, bn1, relu, maxpool, layer1-4, avgpool, torch.flatten, fc
  BasicBlock        Sequential "<i>" = functional Residual {body: conv1 bn1 relu conv2 bn2,
                    shortcut: [downsample] or []} + repeat of relu
  Bottleneck        as BasicBlock with body conv1 bn1 relu conv2 bn2 relu(repeat) conv3 bn3
  MobileNetV2       features, F.adaptive_avg_pool2d(x, 1), torch.flatten, classifier;
                    InvertedResidual with use_res_connect: Residual "<i>" {body: [conv]},
                    otherwise Sequential "<i>" [conv]; Conv2dNormActivation is a Sequential
  ShuffleNetV2      conv1, maxpool, stage2-4, conv5, x.mean([2, 3]) (= adaptive average pool to 1
                    and flatten), fc; InvertedResidual stride 1: Sequential "<i>" = functional
                    Concat(split) {[], [branch2]} + functional ChannelShuffle(2); stride 2:
                    functional Concat {[branch1], [branch2]} + functional ChannelShuffle(2)
  SqueezeNet        features, classifier, torch.flatten; Fire = Sequential "<i>" of squeeze,
                    squeeze_activation, functional Concat {[expand1x1, expand1x1_activation],
                    [expand3x3, expand3x3_activation]}
  DenseNet          features, F.relu(inplace), F.adaptive_avg_pool2d(x, 1), torch.flatten,
                    classifier; _DenseBlock is a Sequential of its layers, each _DenseLayer
                    (x -> cat(x, layer(x))) a Concat named as the layer {[], [norm1 relu1 conv1
                    norm2 relu2 conv2]}; _Transition is a Sequential

tools/check_zoo.py verifies the result against torchvision (leaves, call order, parameter count,
numerical output). Needs torch and torchvision; re-runs itself under /usr/bin/python3 when the
running interpreter lacks them.

Usage: tools/make_zoo.py [--stdout] [NAME ...]   (default: every network listed in NETWORKS)
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_DIR = os.path.join(REPO, "data", "architectures")

try:
    import torch
    import torchvision
    from torchvision.models import densenet, mobilenetv2, resnet, shufflenetv2, squeezenet
except ImportError:
    # pyenv or venv interpreters usually lack Debian's python3-torch; use the system one.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("make_zoo.py: needs torch and torchvision (apt-get install python3-torchvision)")

nn = torch.nn

# Zoo name -> the constructor named in the description.
NETWORKS = {
    "resnet18": "models.resnet18()",
    "resnet34": "models.resnet34()",
    "resnet50": "models.resnet50()",
    "resnet101": "models.resnet101()",
    "resnet152": "models.resnet152()",
    "mobilenet_v2": "models.mobilenet_v2()",
    "shufflenet_v2_x1_0": "models.shufflenet_v2_x1_0()",
    "squeezenet1_0": "models.squeezenet1_0()",
    "densenet121": "models.densenet121()",
}

# Forward semantics per network family, appended to the description.
NOTES = {
    resnet.ResNet: "forward() calls torch.flatten(x, 1) before fc; each block adds its shortcut "
                   "(downsample or identity) to the body and applies the block's relu again",
    mobilenetv2.MobileNetV2: "forward() calls F.adaptive_avg_pool2d(x, (1, 1)) and "
                             "torch.flatten(x, 1) before the classifier; inverted residuals with "
                             "use_res_connect add their input",
    shufflenetv2.ShuffleNetV2: "forward()'s x.mean([2, 3]) is written as an adaptive average pool "
                               "to 1x1 and a flatten; each block concatenates its branches "
                               "(stride 1: the untouched first half of the channels and branch2 "
                               "on the second half) and calls channel_shuffle(x, 2); the empty "
                               "branch1 Sequentials of the stride-1 blocks are never called and "
                               "not written",
    squeezenet.SqueezeNet: "forward() calls torch.flatten(x, 1) after the classifier; each Fire "
                           "concatenates its expand1x1 and expand3x3 paths",
    densenet.DenseNet: "forward() calls F.relu(x, inplace=True), F.adaptive_avg_pool2d(x, (1, 1)) "
                       "and torch.flatten(x, 1) before the classifier; each dense layer's output "
                       "is concatenated to its input (torchvision concatenates the block's "
                       "feature list instead, which gives the same tensors)",
}

PAIRS = ("kernel_size", "stride", "padding", "dilation", "output_size")


def pair(value):
    return list(value) if isinstance(value, (list, tuple)) else [value, value]


def compact(value):
    """[k, k] -> k (as PyTorch accepts either); other values unchanged."""
    p = pair(value)
    return p[0] if p[0] == p[1] else p


def leaf(module, name, **extra):
    """The JSON object of a module leaf, its arguments in constructor order, defaults left out."""
    m = module
    t = type(m).__name__
    if isinstance(m, nn.Conv2d):
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise ValueError(f"{name}: unsupported Conv2d padding {m.padding!r}/{m.padding_mode!r}")
        args = [("in_channels", m.in_channels, None), ("out_channels", m.out_channels, None),
                ("kernel_size", compact(m.kernel_size), None), ("stride", compact(m.stride), 1),
                ("padding", compact(m.padding), 0), ("dilation", compact(m.dilation), 1),
                ("groups", m.groups, 1), ("bias", m.bias is not None, True)]
    elif isinstance(m, nn.BatchNorm2d):
        args = [("num_features", m.num_features, None), ("eps", m.eps, 1e-5),
                ("momentum", m.momentum, 0.1), ("affine", m.affine, True),
                ("track_running_stats", m.track_running_stats, True)]
    elif isinstance(m, (nn.ReLU, nn.ReLU6)):
        args = [("inplace", m.inplace, False)]
    elif isinstance(m, nn.Dropout):
        args = [("p", m.p, 0.5), ("inplace", m.inplace, False)]
    elif isinstance(m, nn.MaxPool2d):
        if m.return_indices:
            raise ValueError(f"{name}: MaxPool2d with return_indices is not supported")
        args = [("kernel_size", compact(m.kernel_size), None),
                ("stride", compact(m.stride), compact(m.kernel_size)),
                ("padding", compact(m.padding), 0), ("dilation", compact(m.dilation), 1),
                ("ceil_mode", m.ceil_mode, False)]
    elif isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            raise ValueError(f"{name}: AvgPool2d with divisor_override is not supported")
        args = [("kernel_size", compact(m.kernel_size), None),
                ("stride", compact(m.stride), compact(m.kernel_size)),
                ("padding", compact(m.padding), 0), ("ceil_mode", m.ceil_mode, False),
                ("count_include_pad", m.count_include_pad, True)]
    elif isinstance(m, nn.AdaptiveAvgPool2d):
        args = [("output_size", pair(m.output_size), None)]
    elif isinstance(m, nn.Linear):
        args = [("in_features", m.in_features, None), ("out_features", m.out_features, None),
                ("bias", m.bias is not None, True)]
    elif isinstance(m, nn.Flatten):
        args = [("start_dim", m.start_dim, 1), ("end_dim", m.end_dim, -1)]
    elif isinstance(m, (nn.Identity, nn.Sigmoid, nn.Tanh)):
        args = []
    else:
        raise ValueError(f"{name}: no joulecast layer type for {t}")
    if list(m.children()):
        raise ValueError(f"{name}: {t} has children, expected a leaf")
    out = {"type": t, "name": name}
    out.update(extra)
    out.update((k, v) for k, v, default in args if default is None or v != default)
    return out


def functional(type_name, **args):
    return {"type": type_name, "functional": True, **args}


def repeat(type_name, name):
    return {"type": type_name, "name": name, "repeat": True}


def sequential(name, layers):
    return {"type": "Sequential", "name": name, "layers": layers}


def children(module):
    """JSON layers for the children of a container module that forward() calls in order."""
    return [translate(child, name) for name, child in module.named_children()]


def translate(module, name):
    """The JSON layer for `module`, registered as `name` (local) in its parent."""
    m = module
    if isinstance(m, resnet.BasicBlock):
        body = [leaf(m.conv1, "conv1"), leaf(m.bn1, "bn1"), leaf(m.relu, "relu"),
                leaf(m.conv2, "conv2"), leaf(m.bn2, "bn2")]
        return block(name, m, body)
    if isinstance(m, resnet.Bottleneck):
        body = [leaf(m.conv1, "conv1"), leaf(m.bn1, "bn1"), leaf(m.relu, "relu"),
                leaf(m.conv2, "conv2"), leaf(m.bn2, "bn2"), repeat("ReLU", "relu"),
                leaf(m.conv3, "conv3"), leaf(m.bn3, "bn3")]
        return block(name, m, body)
    if isinstance(m, mobilenetv2.InvertedResidual):
        conv = translate(m.conv, "conv")
        if m.use_res_connect:
            return {"type": "Residual", "name": name, "body": [conv]}
        return sequential(name, [conv])
    if isinstance(m, shufflenetv2.InvertedResidual):
        branch2 = translate(m.branch2, "branch2")
        if m.stride == 1:
            if list(m.branch1.children()):
                raise ValueError(f"{name}: stride-1 block with a non-empty branch1")
            cat = {"type": "Concat", "functional": True, "split": True,
                   "branches": [[], [branch2]]}
        else:
            cat = {"type": "Concat", "functional": True,
                   "branches": [[translate(m.branch1, "branch1")], [branch2]]}
        return sequential(name, [cat, functional("ChannelShuffle", groups=2)])
    if isinstance(m, squeezenet.Fire):
        cat = {"type": "Concat", "functional": True, "branches": [
            [leaf(m.expand1x1, "expand1x1"), leaf(m.expand1x1_activation, "expand1x1_activation")],
            [leaf(m.expand3x3, "expand3x3"), leaf(m.expand3x3_activation, "expand3x3_activation")],
        ]}
        return sequential(name, [leaf(m.squeeze, "squeeze"),
                                 leaf(m.squeeze_activation, "squeeze_activation"), cat])
    if isinstance(m, densenet._DenseLayer):
        if m.drop_rate > 0:
            raise ValueError(f"{name}: dense layers with dropout are not supported")
        layer = [leaf(getattr(m, n), n) for n in ("norm1", "relu1", "conv1", "norm2", "relu2",
                                                   "conv2")]
        return {"type": "Concat", "name": name, "branches": [[], layer]}
    if isinstance(m, (densenet._DenseBlock, densenet._Transition, nn.Sequential)):
        # _DenseBlock is a ModuleDict whose forward() runs its layers in order (each on the
        # concatenation of everything before it, which the dense layers' Concat reproduces).
        return sequential(name, children(m))
    return leaf(m, name)


def block(name, m, body):
    """A torchvision ResNet block: out = relu(body(x) + shortcut(x))."""
    residual = {"type": "Residual", "functional": True, "body": body}
    if m.downsample is not None:
        residual["shortcut"] = [translate(m.downsample, "downsample")]
    return sequential(name, [residual, repeat("ReLU", "relu")])


def top_level(model):
    """The network's layer list: its children and what its forward() adds."""
    m = model
    if isinstance(m, resnet.ResNet):
        return [translate(getattr(m, n), n) for n in
                ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                 "avgpool")] + [functional("Flatten"), translate(m.fc, "fc")]
    if isinstance(m, mobilenetv2.MobileNetV2):
        return [translate(m.features, "features"),
                functional("AdaptiveAvgPool2d", output_size=[1, 1]), functional("Flatten"),
                translate(m.classifier, "classifier")]
    if isinstance(m, shufflenetv2.ShuffleNetV2):
        return [translate(getattr(m, n), n) for n in
                ("conv1", "maxpool", "stage2", "stage3", "stage4", "conv5")] + [
            functional("AdaptiveAvgPool2d", output_size=[1, 1]), functional("Flatten"),
            translate(m.fc, "fc")]
    if isinstance(m, squeezenet.SqueezeNet):
        return [translate(m.features, "features"), translate(m.classifier, "classifier"),
                functional("Flatten")]
    if isinstance(m, densenet.DenseNet):
        return [translate(m.features, "features"), functional("ReLU", inplace=True),
                functional("AdaptiveAvgPool2d", output_size=[1, 1]), functional("Flatten"),
                translate(m.classifier, "classifier")]
    raise ValueError(f"no translation for {type(m).__name__}")


def drop_index_names(layers, index=None):
    """Removes leaf names that the parser would derive anyway ("<i>" of a module at index i).

    Containers keep their index names, which tell the reader which block a nesting level is.

    Mirrors the parser's numbering: module layers take the next index of their container;
    functional layers and repeats take none, and a functional container's children continue its
    enclosing container's numbering.
    """
    index = [0] if index is None else index
    for layer in layers:
        is_functional = layer.get("functional", False)
        if not is_functional and not layer.get("repeat", False):
            is_leaf = layer["type"] not in ("Sequential", "Residual", "Concat")
            if is_leaf and layer.get("name") == str(index[0]):
                del layer["name"]
            index[0] += 1
        inner = index if is_functional else [0]
        for key in ("layers", "body", "shortcut"):
            if key in layer:
                drop_index_names(layer[key], inner)
        for branch in layer.get("branches", []):
            drop_index_names(branch, inner)


def dump_layer(layer, indent):
    """Containers over several lines (children indented), leaves as one-line objects."""
    pad = " " * indent
    head = {k: v for k, v in layer.items() if k not in ("layers", "body", "shortcut", "branches")}
    if head["type"] not in ("Sequential", "Residual", "Concat"):
        return pad + json.dumps(layer)
    text = pad + json.dumps(head)[:-1]
    lists = [(k, layer[k]) for k in ("layers", "body", "shortcut") if k in layer]
    for i, (key, items) in enumerate(lists):
        text += (", " if i == 0 else "\n" + pad + "], ") + json.dumps(key) + ": ["
        text += "".join("\n" + dump_layer(c, indent + 2) + ("," if j < len(items) - 1 else "")
                        for j, c in enumerate(items))
    if "branches" in layer:
        text += ', "branches": ['
        branches = layer["branches"]
        for b, branch in enumerate(branches):
            comma = "," if b < len(branches) - 1 else ""
            if not branch:
                text += "\n" + pad + "  []" + comma
                continue
            text += "\n" + pad + "  ["
            text += "".join("\n" + dump_layer(c, indent + 4) + ("," if j < len(branch) - 1 else "")
                            for j, c in enumerate(branch))
            text += "\n" + pad + "  ]" + comma
    return text + "\n" + pad + "]}"


def dump(arch):
    lines = ["{",
             f'  "name": {json.dumps(arch["name"])},',
             f'  "description": {json.dumps(arch["description"])},',
             f'  "input": {json.dumps(arch["input"])},',
             '  "layers": [']
    layers = arch["layers"]
    lines += [dump_layer(l, 4) + ("," if i < len(layers) - 1 else "") for i, l in enumerate(layers)]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def make(name):
    model = getattr(torchvision.models, name)(weights=None)
    layers = top_level(model)
    drop_index_names(layers)
    note = next(text for cls, text in NOTES.items() if isinstance(model, cls))
    arch = {"name": name,
            "description": f"torchvision 0.14 {NETWORKS[name]} (weights=None); {note}",
            "input": [3, 224, 224],
            "layers": layers}
    text = dump(arch)
    if json.loads(text) != arch:
        raise AssertionError(f"{name}: the pretty-printer changed the architecture")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing files")
    parser.add_argument("names", nargs="*", help=f"default: {', '.join(NETWORKS)}")
    args = parser.parse_args()
    for name in args.names or NETWORKS:
        if name not in NETWORKS:
            sys.exit(f"make_zoo.py: unknown network {name!r} (known: {', '.join(NETWORKS)})")
        text = make(name)
        if args.stdout:
            sys.stdout.write(text)
            continue
        path = os.path.join(ZOO_DIR, name + ".json")
        with open(path, "w") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
