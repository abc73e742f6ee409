#!/usr/bin/env bash
# Builds the seed corpora of the libFuzzer targets from the repository's real files:
#   tools/fuzz_seeds.sh [CORPUS_ROOT]     (default build-fuzz/corpus)
# creates CORPUS_ROOT/<target>/ for every fuzz/<target>.cpp, filled with small real inputs, plus
# the regression inputs kept in fuzz/regressions/<target>/ (inputs that once crashed or lied).
# Existing corpus files (what earlier runs found) are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-build-fuzz/corpus}
mkdir -p "$root"

seed() {  # seed TARGET NAME < content
  mkdir -p "$root/$1"
  cat >"$root/$1/$2"
}

# Architecture JSON: the zoo, and the broken fixtures of the bad-input suite.
mkdir -p "$root/architecture_json_fuzz"
for f in data/architectures/*.json data/workloads/*.json tests/data/bad/arch_*.json; do
  [ -f "$f" ] && cp "$f" "$root/architecture_json_fuzz/"
done

# Graph JSON: small graphs (tests/data/graph/: a CNN, a squeeze-and-excitation block, a ConvNeXt
# block, a transformer encoder; the zoo's graph files are too large to mutate quickly) and the
# broken graph fixtures of the bad-input suite.
mkdir -p "$root/graph_json_fuzz"
for f in tests/data/graph/*.json tests/data/bad/graph_*.json; do
  [ -f "$f" ] && cp "$f" "$root/graph_json_fuzz/"
done

# Hugging Face configs: the zoo's (data/architectures/hf/, published and NeuSight's) and the broken
# ones of the bad-input suite.
mkdir -p "$root/hf_config_fuzz"
for f in $(find data/architectures/hf -name '*.json') tests/data/bad/hf_*.json; do
  [ -f "$f" ] && cp "$f" "$root/hf_config_fuzz/$(basename "$(dirname "$f")")_$(basename "$f")"
done

# ONNX models: the fixtures under 64 kB (tools/make_onnx_fixtures.py: torchvision networks and
# transformer encoders without weights), the token model, and the broken ONNX files of the
# bad-input suite.
mkdir -p "$root/onnx_fuzz"
for f in tests/data/zoo_onnx/*.onnx tests/data/onnx/*.onnx tests/data/bad/onnx_*.onnx; do
  [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$root/onnx_fuzz/"
done

# Printed PyTorch models; the first line "input=..." gives the shape the fixtures are tested with.
for f in tests/data/repr/*.txt; do
  name=$(basename "$f" .txt)
  case "$name" in
    lenet) input=1x32x32 ;;
    small_sequential) input=3x32x32 ;;
    custom_blocks) input=3x16x16 ;;
    *) input=3x224x224 ;;
  esac
  { echo "input=$input"; cat "$f"; } | seed repr_fuzz "$name.txt"
done

# CodeCarbon CSVs (getzner2023 layout).
for f in tests/data/codecarbon/*.csv; do seed codecarbon_csv_fuzz "$(basename "$f")" <"$f"; done

# Zeus traces: rebuilt as summary_power_<gpu>.csv from the imported records (first 40 rows each).
for f in $(grep -l '"training_run"' data/zeus2023/*.jsonl); do
  python3 - "$f" <<'PY' | seed zeus_csv_fuzz "summary_power_$(basename "$f" .jsonl).csv"
import json, sys
wl = {w["name"]: w for w in json.load(open("data/workloads.json"))["workloads"]}
print("dataset,network,batch_size,optimizer,power_limit,time_per_epoch,average_power")
seen = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") != "training_run":
        continue
    z = wl.get(r["workload"], {}).get("zeus", {})
    ds, net = z.get("dataset", "cifar100"), z.get("network", "shufflenetv2")
    print(f'{ds},{net},{r["batch_size"]},{r["optimizer"]},{r.get("power_limit_w") or 250},'
          f'{r["epoch_time_s"]},{r["average_power_w"]}')
    seen += 1
    if seen == 40:
        break
PY
done
printf '%s\n' "dataset,network,batch_size,optimizer,power_limit,time_per_epoch,average_power" \
  "cifar100,shufflenetv2,1024,adadelta,100,11.5,86.5" "squad,bert_base_uncased,32,adamw,250,1600,225" |
  seed zeus_csv_fuzz test_rows.csv

# Partial training logs (extrapolate): the shipped logs, and the same with energy and power columns.
for f in data/trainlogs/*.csv; do head -n 40 "$f" | seed training_log_fuzz "$(basename "$f")"; done
printf '%s\n' "epoch,duration_s,energy_j,loss" "1,5.2,610.5,2.3" "2,4.9,580,2.1" "3,4.95,585.25,2.0" \
  "4,4.9,579.5,1.9" | seed training_log_fuzz energy.csv
printf '%s\n' "loss,power_w,duration_s,epoch" "2.3,118,5.2,1" "2.1,117.5,4.9,2" "" "2.0,\"118.25\",4.95,3" |
  seed training_log_fuzz power.csv

# Slurm logs of the collection runs (per-row and progress-bar formats).
for f in tests/data/codecarbon/*.out tests/data/bad/slurm_*.out; do
  seed slurm_log_fuzz "$(basename "$f")" <"$f"
done

# Accuracies for compare: a CSV with extra columns (torchvision's top-1 figures), and a list.
printf '%s\n' "name,accuracy,source" "alexnet,0.5652,torchvision" "vgg16,0.7159,torchvision" \
  "\"resnet18\", 0.6976 ,torchvision" | seed accuracy_fuzz torchvision.csv
printf '%s' "alexnet=0.565,vgg16=0.716" | seed accuracy_fuzz list.txt

# Training profiles: the shipped one, and the same cut to each of its workloads.
python3 - "$root/training_profile_fuzz" <<'PY'
import json, os, sys
os.makedirs(sys.argv[1], exist_ok=True)
p = json.load(open("models/gpu-training.json"))
json.dump(p, open(os.path.join(sys.argv[1], "gpu-training.json"), "w"))
for w in p["workloads"]:
    q = dict(p, workloads=[w], training={})
    json.dump(q, open(os.path.join(sys.argv[1], f"workload_{w['name']}.json"), "w"))
PY

# Training-run and measurement JSON Lines: the first records of every data file.
for f in data/zeus2023/*.jsonl; do head -n 20 "$f" | seed training_run_fuzz "$(basename "$f")"; done
for f in data/getzner2023/*/*.jsonl; do
  head -n 8 "$f" | seed measurement_fuzz "$(basename "$(dirname "$f")")_$(basename "$f")"
done

# Profiles: the shipped profile cut into one profile per layer type (the whole is 1.4 MB).
python3 - "$root/profile_fuzz" <<'PY'
import json, os, sys
os.makedirs(sys.argv[1], exist_ok=True)
p = json.load(open("models/xeon-gold-5120.json"))
# Format 1 holds "layers"; format 2 holds "modes": {"forward": {"layers": ...}, ...}.
if "layers" in p:
    for t, lp in p["layers"].items():
        q = dict(p, layers={t: lp}, data={})
        json.dump(q, open(os.path.join(sys.argv[1], f"profile_{t}.json"), "w"), separators=(",", ":"))
else:
    for mode, m in p["modes"].items():
        for t, lp in m["layers"].items():
            q = dict(p, modes={mode: dict(m, layers={t: lp})}, data={})
            json.dump(q, open(os.path.join(sys.argv[1], f"profile_{mode}_{t}.json"), "w"),
                      separators=(",", ":"))
PY

# Size and shard arguments.
for s in 3x224x224 1x28x28 784 3x32x32 1x1x1x1 1099511627776x8191 3x224x224x; do
  printf '%s' "$s" | seed size_arg_fuzz "$s"
done
for s in 0/1 3/8 7/8 2147483646/2147483647 8/8; do printf '%s' "$s" | seed shard_fuzz "${s/\//_of_}"; done

# Inputs that once crashed or lied stay in the corpus.
if [ -d fuzz/regressions ]; then
  for d in fuzz/regressions/*/; do
    [ -d "$d" ] || continue
    t=$(basename "$d")
    mkdir -p "$root/$t"
    cp "$d"* "$root/$t/" 2>/dev/null || true
  done
fi
for d in "$root"/*/; do echo "$(basename "$d"): $(ls "$d" | wc -l) files"; done
