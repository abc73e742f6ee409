#!/usr/bin/env python3
"""Reference measurements on a real NVIDIA GPU, to check joulecast's GPU predictions against.

Not part of the product (joulecast's own collector is `joulecast collect --device cuda`): this
script repeats, on a GPU that neither NeuSight nor joulecast's fit has seen, the two kinds of
measurement in ../shared/datasets/neusight2025, by NeuSight's protocol (PyTorch, float32 with TF32
off, latency from CUDA events), so that they can be compared with NeuSight's tables row for row:

  ops     every distinct operator shape of data/neusight2025/test/{linear,bmm,elem,ln,softmax}.csv,
          written in the same columns (op,gpu,<shape>,latency_ms) under OUT/ops/; the latency is
          the median of individually event-timed runs after warm-up. Shapes are visited in a seeded
          random order and the pass stops at --ops-seconds, so a cut-short pass is a random sample.
  models  the whole transformers of NeuSight's labels (BERT-large, GPT-2 large, GPT-3 XL and 2.7B,
          OPT-1.3B; inference = one forward pass under no_grad, train = forward + backward, as the
          labels' e2e = fw + bwall), built with Hugging Face transformers from
          ../shared/datasets/neusight2025/model_configs (copied to data/neusight2025/model_configs),
          random weights on the GPU, eager attention as in the labels' traces. Each row also has
          the GPU's energy over the timed runs from NVML's total-energy counter (J per run, mean
          power), so the power model can be checked too. Written as OUT/models.jsonl.
  env     OUT/env.json: torch/CUDA/driver versions, the GPU's name, power limit, clocks and idle
          power as NVML reports them (read only; clocks and limits are never changed).

    tools/measure_gpu_reference.py --gpu-name "H200 SXM 141GB" --out DIR [--ops-seconds S]
        [--models-seconds S] [--skip ops|models] [--smoke]

--smoke runs a few tiny shapes and a two-layer model on whatever device torch has (CPU here), to
check the script before a GPU is spent on it.
"""
import argparse
import contextlib
import csv
import json
import os
import random
import statistics
import sys
import time

import torch
import torch.nn.functional as F

OUT_OF_MEMORY = getattr(torch.cuda, "OutOfMemoryError", MemoryError)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHAPE_COLUMNS = {"linear": ["B", "M", "N", "K"], "bmm": ["B", "M", "N", "K"], "elem": ["B", "H"],
                 "ln": ["B", "H"], "softmax": ["B", "H"]}
# NeuSight's label configurations: (config file, kind, seq, batch).
MODELS = [
    ("bert_large", "inf", 512, 8), ("bert_large", "inf", 512, 16),
    ("bert_large", "train", 512, 2), ("bert_large", "train", 512, 8),
    ("gpt2_large", "inf", 1024, 4), ("gpt2_large", "inf", 1024, 8),
    ("gpt2_large", "train", 1024, 1),
    ("gpt3_xl", "inf", 2048, 2), ("gpt3_xl", "inf", 2048, 8), ("gpt3_xl", "train", 2048, 1),
    ("gpt3_27", "inf", 2048, 2), ("gpt3_27", "inf", 2048, 8),
    ("opt_13", "inf", 2048, 2), ("opt_13", "inf", 2048, 8), ("opt_13", "train", 2048, 1),
]


class Nvml:
    """NVML through nvidia-ml-py when present; every reading None otherwise."""

    def __init__(self):
        self.lib = None
        try:
            import pynvml
            pynvml.nvmlInit()
            self.lib = pynvml
            self.h = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception as e:  # no NVML (CPU smoke run): energy columns stay empty
            self.error = str(e)

    def _read(self, fn, *args):
        if self.lib is None:
            return None
        try:
            return getattr(self.lib, fn)(self.h, *args)
        except Exception:
            return None

    def energy_j(self):
        mj = self._read("nvmlDeviceGetTotalEnergyConsumption")
        return None if mj is None else mj / 1000.0

    def power_w(self):
        mw = self._read("nvmlDeviceGetPowerUsage")
        return None if mw is None else mw / 1000.0

    def describe(self):
        if self.lib is None:
            return {"nvml": "unavailable: " + getattr(self, "error", "")}
        L = self.lib
        d = {}
        for key, fn, args in [
            ("driver", None, None), ("name", "nvmlDeviceGetName", ()),
            ("power_limit_w", "nvmlDeviceGetPowerManagementLimit", ()),
            ("enforced_power_limit_w", "nvmlDeviceGetEnforcedPowerLimit", ()),
            ("default_power_limit_w", "nvmlDeviceGetPowerManagementDefaultLimit", ()),
            ("sm_clock_mhz", "nvmlDeviceGetClockInfo", (L.NVML_CLOCK_SM,)),
            ("max_sm_clock_mhz", "nvmlDeviceGetMaxClockInfo", (L.NVML_CLOCK_SM,)),
            ("mem_clock_mhz", "nvmlDeviceGetClockInfo", (L.NVML_CLOCK_MEM,)),
            ("max_mem_clock_mhz", "nvmlDeviceGetMaxClockInfo", (L.NVML_CLOCK_MEM,)),
            ("temperature_c", "nvmlDeviceGetTemperature", (L.NVML_TEMPERATURE_GPU,)),
        ]:
            try:
                if key == "driver":
                    v = L.nvmlSystemGetDriverVersion()
                else:
                    v = getattr(L, fn)(self.h, *args)
                if key.endswith("_w"):
                    v = v / 1000.0
                d[key] = v.decode() if isinstance(v, bytes) else v
            except Exception as e:
                d[key] = "unavailable: " + str(e)
        return d


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_once(fn, dev):
    """One run of fn (ms): CUDA events on a GPU, the wall clock elsewhere."""
    if dev.type != "cuda":
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3
    a = torch.cuda.Event(enable_timing=True)
    b = torch.cuda.Event(enable_timing=True)
    a.record()
    fn()
    b.record()
    b.synchronize()
    return a.elapsed_time(b)


def time_runs(fn, dev, reps, warmup):
    """Median of `reps` individually timed runs (ms) after `warmup` runs."""
    for _ in range(warmup):
        fn()
    sync(dev)
    return statistics.median([time_once(fn, dev) for _ in range(reps)])


def op_function(op, shape, dev):
    """The operator of NeuSight's tables on fresh float32 tensors, as a no-argument callable."""
    o = dict(device=dev, dtype=torch.float32)
    if op in ("linear", "bmm"):
        B, M, N, K = shape
        if op == "linear":
            x = torch.randn(B, M, K, **o)
            w = torch.randn(N, K, **o)
            bias = torch.randn(N, **o)
            return lambda: F.linear(x, w, bias)
        a = torch.randn(B, M, K, **o)
        b = torch.randn(B, K, N, **o)
        return lambda: torch.bmm(a, b)
    B, H = shape
    x = torch.rand(B, H, **o) + 0.5
    if op == "ln":
        w = torch.ones(H, **o)
        b = torch.zeros(H, **o)
        return lambda: F.layer_norm(x, (H,), w, b)
    if op == "softmax":
        return lambda: torch.softmax(x, dim=-1)
    binary = {"add": torch.add, "mul": torch.mul, "div": torch.div, "pow": torch.pow}
    if op in binary:
        y = torch.rand(B, H, **o) + 0.5
        f = binary[op]
        return lambda: f(x, y)
    if op.endswith("u") and op[:-1] in binary:
        f = binary[op[:-1]]
        return lambda: f(x, 2.0)
    unary = {"gelu": F.gelu, "relu": torch.relu, "tanh": torch.tanh}
    if op in unary:
        return lambda: unary[op](x)
    raise ValueError(f"unknown operator '{op}'")


def distinct_shapes(test_dir):
    shapes = []
    seen = set()
    for table, cols in SHAPE_COLUMNS.items():
        with open(os.path.join(test_dir, table + ".csv"), newline="") as f:
            for row in csv.DictReader(f):
                key = (table, row["op"], tuple(int(row[c]) for c in cols))
                if key not in seen:
                    seen.add(key)
                    shapes.append(key)
    return shapes


def measure_ops(args, dev, out_dir):
    shapes = distinct_shapes(os.path.join(ROOT, "data", "neusight2025", "test"))
    random.Random(0).shuffle(shapes)
    if args.smoke:
        shapes = sorted(shapes, key=_elements)[:12]
    os.makedirs(out_dir, exist_ok=True)
    files, writers = {}, {}
    for table, cols in SHAPE_COLUMNS.items():
        files[table] = open(os.path.join(out_dir, table + ".csv"), "w", newline="")
        writers[table] = csv.writer(files[table])
        writers[table].writerow(["op", "gpu"] + cols + ["latency_ms"])
    t_start = time.time()
    done = skipped = 0
    for table, op, shape in shapes:
        if time.time() - t_start > args.ops_seconds:
            break
        try:
            fn = op_function(op, shape, dev)
            # One run decides the repetitions: 10 for fast operators, 3 above 20 ms.
            sync(dev)
            t0 = time.perf_counter()
            fn()
            sync(dev)
            first_ms = (time.perf_counter() - t0) * 1e3
            reps = 3 if first_ms > 20 else 10
            median = time_runs(fn, dev, reps, warmup=2)
            writers[table].writerow([op, args.gpu_name] + list(shape) + [f"{median:.6g}"])
            done += 1
        except OUT_OF_MEMORY:
            skipped += 1
        finally:
            fn = None
            if done % 200 == 0:
                for f in files.values():
                    f.flush()
    for f in files.values():
        f.close()
    summary = {"distinct_shapes": len(shapes), "measured": done, "out_of_memory": skipped,
               "seconds": round(time.time() - t_start, 1)}
    print("ops:", json.dumps(summary), flush=True)
    return summary


def _elements(s):
    n = 1
    for v in s[2]:
        n *= v
    return n


def build_model(name, kind, smoke, dev):
    import transformers
    with open(os.path.join(ROOT, "data", "neusight2025", "model_configs", name + ".json")) as f:
        raw = json.load(f)
    model_type = raw.pop("model_type")
    if smoke:
        for k in ("n_layer", "num_hidden_layers"):
            if k in raw:
                raw[k] = 2
    cfg = transformers.AutoConfig.for_model(model_type, **raw)
    if model_type == "bert":
        cls = (transformers.AutoModelForSequenceClassification if kind == "inf"
               else transformers.AutoModelForPreTraining)
    else:
        cls = transformers.AutoModelForCausalLM
    # Built on the device directly (PyTorch >= 2.0); Debian's 1.13 (--smoke) builds on the CPU.
    place = torch.device(dev) if hasattr(torch.device, "__enter__") else contextlib.nullcontext()
    with place:
        try:
            model = cls.from_config(cfg, attn_implementation="eager")
        except (TypeError, ValueError):
            model = cls.from_config(cfg)
    model.to(dev, torch.float32)
    return model, cfg


def measure_models(args, dev, nvml, out_path):
    t_start = time.time()
    configs = [MODELS[0], MODELS[2]] if args.smoke else MODELS
    with open(out_path, "w") as out:
        for name, kind, seq, batch in configs:
            if time.time() - t_start > args.models_seconds:
                print(f"models: time budget spent before {name}-{kind}-{seq}-{batch}", flush=True)
                break
            if args.smoke:
                seq, batch = 16, 1
            row = {"model": name, "kind": kind, "seq": seq, "batch": batch,
                   "gpu": args.gpu_name, "dtype": "float32", "tf32": False}
            model = None
            try:
                model, cfg = build_model(name, kind, args.smoke, dev)
                row["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
                row["parameters"] = sum(p.numel() for p in model.parameters())
                row["num_layer"] = getattr(cfg, "num_hidden_layers", None)
                ids = torch.randint(0, cfg.vocab_size, (batch, seq), device=dev)
                if kind == "inf":
                    model.eval()

                    def step():
                        with torch.no_grad():
                            model(input_ids=ids)
                else:
                    model.train()

                    def step():
                        model.zero_grad(set_to_none=True)
                        out = model(input_ids=ids)
                        logits = out.logits if hasattr(out, "logits") else out.prediction_logits
                        logits.float().mean().backward()
                if kind == "train":
                    # The forward share of a training step, as the labels' fw_latency.
                    def fw_only():
                        model.zero_grad(set_to_none=True)
                        model(input_ids=ids)
                for _ in range(2):
                    step()
                sync(dev)
                reps, times = 0, []
                e0, t0 = nvml.energy_j(), time.perf_counter()
                while reps < 3 or (time.perf_counter() - t0 < 2.0 and reps < 30):
                    times.append(time_once(step, dev))
                    reps += 1
                sync(dev)
                wall = time.perf_counter() - t0
                e1 = nvml.energy_j()
                row["e2e_latency_ms"] = statistics.median(times)
                row["e2e_latency_mean_ms"] = statistics.fmean(times)
                row["runs"] = reps
                row["wall_s"] = round(wall, 3)
                if e0 is not None and e1 is not None:
                    row["energy_j_per_run"] = (e1 - e0) / reps
                    row["mean_power_w"] = (e1 - e0) / wall
                if kind == "train":
                    model.train()
                    fw_median = time_runs(fw_only, dev, 3, warmup=1)
                    row["fw_latency_ms"] = fw_median
                    row["bwall_latency_ms"] = row["e2e_latency_ms"] - fw_median
                row["peak_memory_gib"] = (torch.cuda.max_memory_allocated() / 2**30
                                          if dev.type == "cuda" else None)
            except Exception as e:  # one model failing must not lose the others' rows
                row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            finally:
                model = None
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
            out.write(json.dumps(row) + "\n")
            out.flush()
            print("models:", json.dumps(row), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu-name", required=True, help="the GPU as data/hardware/gpus.json names it")
    p.add_argument("--out", required=True)
    p.add_argument("--ops-seconds", type=float, default=180)
    p.add_argument("--models-seconds", type=float, default=150)
    p.add_argument("--skip", action="append", default=[], choices=["ops", "models"])
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not args.smoke and dev.type != "cuda":
        sys.exit("measure_gpu_reference.py: error: torch sees no CUDA device (use --smoke on a CPU)")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(args.out, exist_ok=True)
    nvml = Nvml()
    env = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "torch": torch.__version__, "cuda": torch.version.cuda,
           "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
           "gpu_name_given": args.gpu_name, "nvml_before": nvml.describe()}
    try:
        import transformers
        env["transformers"] = transformers.__version__
    except ImportError:
        env["transformers"] = None
    if dev.type == "cuda":
        prop = torch.cuda.get_device_properties(0)
        env["multiprocessors"] = prop.multi_processor_count
        env["memory_gib"] = prop.total_memory / 2**30
        idle = []
        for _ in range(10):
            idle.append(nvml.power_w())
            time.sleep(0.1)
        env["idle_power_w"] = idle
    with open(os.path.join(args.out, "env.json"), "w") as f:
        json.dump(env, f, indent=1)
    print("env:", json.dumps(env), flush=True)
    if "models" not in args.skip:
        measure_models(args, dev, nvml, os.path.join(args.out, "models.jsonl"))
    if "ops" not in args.skip:
        env["ops"] = measure_ops(args, dev, os.path.join(args.out, "ops"))
    env["nvml_after"] = nvml.describe()
    with open(os.path.join(args.out, "env.json"), "w") as f:
        json.dump(env, f, indent=1)


if __name__ == "__main__":
    main()
