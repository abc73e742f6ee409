#!/usr/bin/env python3
"""Writes the TorchScript fixtures of tests/arch/torchscript_loader_test.cpp.

tests/data/torchscript/<net>_<scripted|traced>.pt are small networks saved with torch.jit.save
after torch.jit.script or torch.jit.trace (eval mode, traced on one sample of the net's input):

  small_cnn      nn.Sequential: conv/bn/relu/maxpool, conv without bias, adaptive avgpool,
                 flatten, dropout, linear
  small_resnet   a user module with a functional F.relu stem, two BasicBlock-like blocks (the
                 second with a downsampling shortcut; each calls its relu twice) and x.mean([2, 3])
  fire_net       SqueezeNet-like: Fire blocks (squeeze, then torch.cat of two expand paths),
                 MaxPool2d(ceil_mode=True), torch.flatten
  shuffle_net    ShuffleNetV2-like: x.chunk(2, 1) / torch.cat / torchvision's channel_shuffle,
                 nn.ChannelShuffle, x.view(x.size(0), -1)
  unsupported_*  what the reader must refuse: conv(x) * 2, a module call whose result is dropped,
                 a tuple output, an nn.Sequential called twice, y = conv(x); return (y + x) + y
  resnet18_traced, squeezenet1_0_traced, mobilenet_v2_scripted   torchvision 0.14 networks

Every parameter and buffer is replaced by a zero-stride view of one shared zero, torch.zeros(1)
.expand(shape) (integer buffers: of an integer zero): torch.jit.save then stores a single
4-byte storage per dtype while each tensor keeps its shape, which is all the reader looks at, so a
torchvision network takes ~100 kB instead of ~45 MB.

Operator-graph fixtures (LoadTorchScriptGraph; graph_*.pt, any aten operation the registry has):

  graph_se_block         conv + squeeze-excitation (adaptive avgpool, 1x1 convs, sigmoid, x * s)
  graph_convnext_block   ConvNeXt block: depthwise conv, permute, LayerNorm, Linear, GELU, Linear,
                         layer scale (a parameter times x), permute back, residual add
  graph_unsupported_*    refused: torch.cumsum in a submodule, an `if` on a tensor's value
  graph_transformer      nn.TransformerEncoderLayer(16, 2, 32, batch_first=True) in eval mode,
                         traced on an input that requires grad: the slow path,
                         F.multi_head_attention_forward op by op (linear, view, transpose, bmm,
                         softmax, layer_norm, relu); scripted: the fused fast path that inference
                         takes (aten::_transformer_encoder_layer_fwd)

with tests/data/torchscript/graph_expected.json: per file, the batched input, the parameter count
(sum(p.numel())), the output shape and the matrix MACs at that input (convolutions, mm/addmm/bmm, counted on the
aten operations PyTorch dispatches while the model runs once), which the C++ test compares.

It also writes tests/data/torchscript/expected.json: per network (file stem without _scripted or
_traced), the input shape and, as PyTorch
sees them (forward hooks on the original nn.Module, one sample), the module leaves in the order of
their first call with name, class, constructor arguments (normalised as joulecast does: defaults
filled in, kernel_size/stride/padding/dilation/output_size as [h, w]) and per-sample output shape,
and the parameter count. The C++ test compares LoadTorchScriptFile + InferShapes with it.

Needs Debian's python3-torch and python3-torchvision (1.13 / 0.14, as libtorch-dev); re-runs itself
under /usr/bin/python3 when the running interpreter lacks them.

Usage: tools/make_torchscript_fixtures.py [--graph]   (--graph: only the operator-graph fixtures)
"""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data", "torchscript")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
    from torchvision.models.shufflenetv2 import channel_shuffle
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("make_torchscript_fixtures.py: needs torch and torchvision")


# --- networks ---------------------------------------------------------------------------------


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d((2, 2)),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(64, 10),
    )


class Block(nn.Module):
    """torchvision's BasicBlock in small."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layer2(self.layer1(x))
        x = x.mean([2, 3])
        return self.fc(x)


class Fire(nn.Module):
    """torchvision's SqueezeNet Fire block."""

    def __init__(self, cin, squeeze, expand1x1, expand3x3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class FireNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 4, 8, 8),
            Fire(16, 4, 8, 8),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Conv2d(16, 10, 1), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        x = self.classifier(self.features(x))
        return torch.flatten(x, 1)


class ShuffleBlock(nn.Module):
    """torchvision's ShuffleNetV2 InvertedResidual with stride 1."""

    def __init__(self, channels):
        super().__init__()
        half = channels // 2
        self.branch2 = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.stage = nn.Sequential(ShuffleBlock(8), ShuffleBlock(8))
        self.shuffle = nn.ChannelShuffle(4)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 10)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.pool(self.shuffle(self.stage(self.conv(x))))
        x = x.view(x.size(0), -1)
        return self.softmax(self.fc(x))


class UnsupportedMul(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x) * 2


class UnusedResult(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 3, 1)
        self.b = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        y = self.a(x)  # noqa: F841 (computed, then dropped)
        return self.b(x)


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(x), x


class SharedAfterBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        y = self.conv(x)
        z = y + x
        return z + y


class ContainerCalledTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(3, 3, 1), nn.ReLU())

    def forward(self, x):
        return self.block(self.block(x))


class SEBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return x * s


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        y = (self.gamma * y).permute(0, 3, 1, 2)
        return x + y


class Cumsum(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, 1)


class GraphUnsupported(nn.Module):
    """What LoadTorchScriptGraph must refuse: an operation the registry has no operator for."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.body = Cumsum()

    def forward(self, x):
        return self.body(self.conv(x))


class DataDependent(nn.Module):
    """... and control flow that depends on tensor values."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        if bool(y.sum() > 0):
            y = y + 1
        return y


def transformer():
    return nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)


# (file stem, factory, batched input, modes) for LoadTorchScriptGraph.
GRAPH_NETS = [
    ("graph_se_block", SEBlock, [1, 3, 8, 8], ["traced", "scripted"]),
    ("graph_convnext_block", ConvNeXtBlock, [1, 8, 8, 8], ["traced", "scripted"]),
    ("graph_transformer", transformer, [1, 5, 16], ["traced", "scripted"]),
    ("graph_unsupported_op", GraphUnsupported, [1, 3, 8, 8], ["scripted"]),
    ("graph_unsupported_data_dependent", DataDependent, [1, 3, 8, 8], ["scripted"]),
]
# Traced on an input that requires grad (the transformer's slow path), counted the same way.
GRAD_TRACED = {"graph_transformer"}


def matrix_macs(model, sample, grad=False):
    """MACs of convolutions and matrix products (no bias), from the aten operations dispatched."""
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    total = [0]

    def numel(shape):
        n = 1
        for s in shape:
            n *= s
        return n

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            packet = func.overloadpacket
            if packet is aten.convolution:
                w = args[1]
                total[0] += numel(out.shape) * numel(w.shape[1:])
            elif packet in (aten.mm, aten.bmm):
                total[0] += numel(out.shape) * args[0].shape[-1]
            elif packet is aten.addmm:
                total[0] += numel(out.shape) * args[1].shape[-1]
            elif packet is aten.baddbmm:
                total[0] += numel(out.shape) * args[1].shape[-1]
            return out

    with torch.set_grad_enabled(grad), Count():
        model(sample)
    return total[0]


def graph_fixtures():
    expected = {}
    for stem, factory, input_shape, modes in GRAPH_NETS:
        model = shrink(factory().eval())
        grad = stem in GRAD_TRACED
        sample = torch.zeros(input_shape, requires_grad=grad)
        for mode in modes:
            file = f"{stem}_{mode}.pt"
            saved = (torch.jit.script(model) if mode == "scripted"
                     else torch.jit.trace(model, sample, check_trace=not grad))
            torch.jit.save(saved, os.path.join(OUT_DIR, file))
            print(f"{file}: {os.path.getsize(os.path.join(OUT_DIR, file))} bytes")
        if "unsupported" in stem:
            continue
        expected[stem] = {"input": input_shape,
                          "parameters": sum(p.numel() for p in model.parameters()),
                          "matrix_macs": matrix_macs(model, sample, grad),
                          "output": list(model(sample).shape)}
    resnet = shrink(torchvision.models.resnet18(weights=None).eval())
    expected["resnet18"] = {"input": [1, 3, 224, 224],
                            "parameters": sum(p.numel() for p in resnet.parameters()),
                            "matrix_macs": matrix_macs(resnet, torch.zeros(1, 3, 224, 224))}
    with open(os.path.join(OUT_DIR, "graph_expected.json"), "w") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}"
                                    for k, v in expected.items()) + "\n}\n")


# (file stem, factory, per-sample input, modes); the unsupported_* nets test error messages.
NETS = [
    ("small_cnn", small_cnn, [3, 16, 16], ["scripted", "traced"]),
    ("small_resnet", SmallResNet, [3, 16, 16], ["scripted", "traced"]),
    ("fire_net", FireNet, [3, 33, 33], ["scripted", "traced"]),
    ("shuffle_net", ShuffleNet, [3, 16, 16], ["scripted", "traced"]),
    ("unsupported_mul", UnsupportedMul, [3, 8, 8], ["scripted"]),
    ("unsupported_unused_result", UnusedResult, [3, 8, 8], ["traced"]),
    ("unsupported_two_outputs", TwoOutputs, [3, 8, 8], ["scripted"]),
    ("unsupported_container_called_twice", ContainerCalledTwice, [3, 8, 8], ["traced"]),
    ("unsupported_shared_after_branch", SharedAfterBranch, [3, 8, 8], ["scripted"]),
    ("resnet18", lambda: torchvision.models.resnet18(weights=None), [3, 224, 224], ["traced"]),
    ("squeezenet1_0", lambda: torchvision.models.squeezenet1_0(weights=None), [3, 224, 224],
     ["traced"]),
    ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(weights=None), [3, 224, 224],
     ["scripted"]),
]


# --- expectations -----------------------------------------------------------------------------

PAIRS = {"kernel_size", "stride", "padding", "dilation", "output_size"}


def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def torch_args(m):
    """Constructor arguments of a leaf module, normalised as joulecast's NormalizeLayerParams."""
    if isinstance(m, nn.Conv2d):
        assert m.padding_mode == "zeros" and not isinstance(m.padding, str)
        return dict(in_channels=m.in_channels, out_channels=m.out_channels,
                    kernel_size=pair(m.kernel_size), stride=pair(m.stride),
                    padding=pair(m.padding), dilation=pair(m.dilation), groups=m.groups,
                    bias=m.bias is not None)
    if isinstance(m, nn.Linear):
        return dict(in_features=m.in_features, out_features=m.out_features,
                    bias=m.bias is not None)
    if isinstance(m, nn.MaxPool2d):
        return dict(kernel_size=pair(m.kernel_size), stride=pair(m.stride or m.kernel_size),
                    padding=pair(m.padding), dilation=pair(m.dilation), ceil_mode=m.ceil_mode)
    if isinstance(m, nn.AvgPool2d):
        return dict(kernel_size=pair(m.kernel_size), stride=pair(m.stride or m.kernel_size),
                    padding=pair(m.padding), ceil_mode=m.ceil_mode,
                    count_include_pad=m.count_include_pad)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return dict(output_size=pair(m.output_size))
    if isinstance(m, nn.BatchNorm2d):
        return dict(num_features=m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                    track_running_stats=m.track_running_stats)
    if isinstance(m, (nn.ReLU, nn.ReLU6)):
        return dict(inplace=m.inplace)
    if isinstance(m, nn.Dropout):
        return dict(p=m.p, inplace=m.inplace)
    if isinstance(m, nn.Flatten):
        return dict(start_dim=m.start_dim, end_dim=m.end_dim)
    if isinstance(m, nn.Softmax):
        return dict(dim=m.dim)
    if isinstance(m, nn.ChannelShuffle):
        return dict(groups=m.groups)
    if isinstance(m, (nn.Sigmoid, nn.Tanh, nn.Identity)):
        return {}
    raise ValueError(f"no joulecast equivalent for {type(m).__name__}")


def expected_leaves(model, sample):
    """Module leaves in the order of their first call, with arguments and output shapes."""
    names = {m: n for n, m in model.named_modules()}
    leaves, seen = [], set()

    def hook(module, _inputs, output):
        name = names[module]
        if name in seen:
            return
        seen.add(name)
        leaves.append({"name": name, "type": type(module).__name__,
                       "params": torch_args(module), "output_shape": list(output.shape[1:])})

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(sample)
    for h in handles:
        h.remove()
    return leaves


# --- saving -----------------------------------------------------------------------------------


def shrink(model):
    """Replaces every parameter and buffer by a zero-stride view of one shared zero."""
    zeros = {torch.float32: torch.zeros(1), torch.int64: torch.zeros(1, dtype=torch.int64)}
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None:
                module._parameters[name] = nn.Parameter(zeros[p.dtype].expand(p.shape),
                                                        requires_grad=False)
        for name, b in list(module._buffers.items()):
            if b is not None:
                base = zeros[b.dtype]
                module._buffers[name] = (base.reshape(()) if b.dim() == 0 else base).expand(b.shape)
    return model


def main():
    if sys.argv[1:] == ["--graph"]:
        graph_fixtures()
        return
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(0)
    expected = {}
    for stem, factory, input_shape, modes in NETS:
        model = shrink(factory().eval())
        sample = torch.zeros([1] + input_shape)
        leaves = expected_leaves(model, sample)
        for mode in modes:
            file = f"{stem}_{mode}.pt"
            path = os.path.join(OUT_DIR, file)
            if mode == "scripted":
                saved = torch.jit.script(model)
            else:
                saved = torch.jit.trace(model, sample)
            torch.jit.save(saved, path)
            print(f"{file}: {os.path.getsize(path)} bytes, {len(leaves)} leaves")
        if stem.startswith("unsupported_"):
            continue
        expected[stem] = {
            "input": input_shape,
            "leaves": leaves,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
    # One leaf per line: readable diffs without indenting every argument.
    lines = []
    for stem, entry in expected.items():
        leaves = ",\n".join("   " + json.dumps(leaf) for leaf in entry["leaves"])
        lines.append(f' {json.dumps(stem)}: {{"input": {json.dumps(entry["input"])}, '
                     f'"parameters": {entry["parameters"]}, "leaves": [\n{leaves}]}}')
    with open(os.path.join(OUT_DIR, "expected.json"), "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    graph_fixtures()


if __name__ == "__main__":
    main()
