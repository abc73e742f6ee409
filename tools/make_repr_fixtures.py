#!/usr/bin/env python3
"""Writes the printed-model fixtures that tests/arch/repr_parser_test.cpp parses.

Each file tests/data/repr/<name>.txt is exactly what `print(model)` shows (str(model) plus a
newline) for
  - torchvision 0.14 models.<name>(weights=None): the zoo networks (alexnet, vgg11/13/16/19,
    resnet18/34/50/101/152, mobilenet_v2, shufflenet_v2_x1_0, squeezenet1_0, densenet121);
  - three small hand-made models: small_sequential (an nn.Sequential of every leaf class that
    joulecast knows), lenet (a class of its own whose forward() flattens before fc1) and
    custom_blocks (an nn.Sequential holding blocks of an unknown class and a Linear head after
    a global pool).

For the hand-made models it also prints each module leaf's output shape (forward hooks, batch of
one, batch dimension removed), the numbers that the test's expectations were taken from.

Needs torch and torchvision (Debian: apt-get install python3-torchvision); when the running
interpreter lacks them it re-runs itself under /usr/bin/python3.

Usage: tools/make_repr_fixtures.py [--check]   (--check: compare with the files, write nothing)
"""

import argparse
import collections
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data", "repr")

try:
    import torch
    import torchvision
    from torch import nn
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
        "/usr/bin/python3"
    ):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("make_repr_fixtures.py: needs torch and torchvision (apt-get install python3-torchvision)")

TORCHVISION_NETS = [
    "alexnet",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "mobilenet_v2",
    "shufflenet_v2_x1_0",
    "squeezenet1_0",
    "densenet121",
]


class LeNet(nn.Module):
    """LeNet-5 as in most tutorials: forward() flattens between pool2 and fc1."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


class MyBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Head(nn.Sequential):
    """Flattens, then runs its children in order: a flatten that print() does not show."""

    def forward(self, x):
        return super().forward(x.flatten(1))


def small_models():
    """name -> (model, per-sample input shape)."""
    small_sequential = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, (3, 3), stride=2, padding=1, groups=2, bias=False),
        nn.ChannelShuffle(2),
        nn.ReLU6(),
        nn.AvgPool2d(2),
        nn.Sigmoid(),
        nn.AdaptiveAvgPool2d((4, 4)),
        nn.Tanh(),
        nn.Identity(),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(512, 10),
        nn.Softmax(dim=1),
    )
    custom_blocks = nn.Sequential(
        collections.OrderedDict(
            [
                ("stem", nn.Conv2d(3, 8, 3, padding=1)),
                ("block1", MyBlock(8, 16)),
                ("block2", MyBlock(16, 16)),
                ("pool", nn.AdaptiveAvgPool2d(1)),
                ("head", Head(nn.Linear(16, 10))),
            ]
        )
    )
    return {
        "small_sequential": (small_sequential, (3, 32, 32)),
        "lenet": (LeNet(), (1, 32, 32)),
        "custom_blocks": (custom_blocks, (3, 16, 16)),
    }


def leaf_shapes(model, shape):
    out = []
    hooks = []
    for name, m in model.named_modules():
        if not list(m.children()):
            hooks.append(
                m.register_forward_hook(
                    lambda mod, inp, o, name=name: out.append((name, tuple(o.shape[1:])))
                )
            )
    model.eval()
    with torch.no_grad():
        model(torch.zeros((1,) + tuple(shape)))
    for h in hooks:
        h.remove()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    torch.manual_seed(0)
    texts = {}
    for name in TORCHVISION_NETS:
        texts[name] = str(getattr(torchvision.models, name)(weights=None)) + "\n"
    for name, (model, shape) in small_models().items():
        texts[name] = str(model) + "\n"
        print(f"{name} (input {'x'.join(map(str, shape))}):")
        for leaf, out in leaf_shapes(model, shape):
            print(f"  {leaf}: {'x'.join(map(str, out))}")
    os.makedirs(OUT_DIR, exist_ok=True)
    stale = []
    for name, text in texts.items():
        path = os.path.join(OUT_DIR, name + ".txt")
        if args.check:
            old = open(path).read() if os.path.exists(path) else None
            if old != text:
                stale.append(path)
            continue
        with open(path, "w") as f:
            f.write(text)
    if stale:
        print("out of date: " + ", ".join(stale))
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(texts)} files in {OUT_DIR} "
          f"(torch {torch.__version__}, torchvision {torchvision.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
