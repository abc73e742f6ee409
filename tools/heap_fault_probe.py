#!/usr/bin/env python3
"""Page faults of a Linear training step in plain PyTorch under the malloc settings of the
collector's reserve heap (include/joulecast/collect/heap.h: mmap threshold 32 MiB, no block
mapped on its own, no trimming below 2 GiB, top pad 64 MiB, 1.5 GiB touched and freed first):
each step's seconds and minor page faults, to see whether a shape keeps faulting once warm.

    taskset -c 0 /usr/bin/python3 tools/heap_fault_probe.py IN OUT BATCH [STEPS]
"""
import ctypes
import resource
import sys
import time

import torch

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -2, -3, -4


def main():
    fan_in, fan_out, batch = (int(a) for a in sys.argv[1:4])
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    torch.set_num_threads(1)
    torch.manual_seed(0)
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    for option, value in ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 2**31 - 1),
                          (M_TOP_PAD, 64 << 20), (M_MMAP_MAX, 0)):
        if libc.mallopt(option, value) != 1:
            sys.exit(f"mallopt({option}, {value}) refused")
    reserve = int(1.5 * 2**30)
    block = libc.malloc(ctypes.c_size_t(reserve))
    ctypes.memset(block, 1, reserve)
    libc.free(ctypes.c_void_p(block))
    layer = torch.nn.Linear(fan_in, fan_out)
    x = torch.randn(batch, fan_in, requires_grad=True)
    sgd = torch.optim.SGD(layer.parameters(), lr=0.01, momentum=0.9)
    grad_out = None
    for step in range(steps):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        sgd.zero_grad(set_to_none=False)
        x.grad = None
        out = layer(x)
        if grad_out is None:
            grad_out = torch.ones_like(out)
        out.backward(grad_out)
        sgd.step()
        seconds = time.perf_counter() - t0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        print(f"step {step:2d}  {seconds:7.3f} s  {faults:7d} minor faults")


if __name__ == "__main__":
    main()
