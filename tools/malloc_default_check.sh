#!/usr/bin/env bash
# What glibc's default malloc costs whole networks whose activations reach 32 MiB (README, "Large
# activations and glibc's default malloc"), on the Zen 3 VM (cpuinfo family 25 model 1),
# 2026-12-07 04:30-04:47 UTC, forward passes, one libtorch thread, into
# data/collect/epyc-milan-2c/malloc/:
#   reserve.jsonl  collect's --heap reserve (the heap grown and touched first: what profiles predict)
#   default.jsonl  --heap default: glibc as a plain PyTorch process runs it
#   env.jsonl      --heap default with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 in
#                  the environment (predict's advice: glibc maps no block on its own and keeps
#                  freed memory)
# Measure (alone on core 0, the other core idle):
#   flock /tmp/joulecast-cpu.lock taskset -c 0 tools/malloc_default_check.sh --measure [OUT_DIR]
# Table (measures nothing): tools/malloc_default_check.sh [OUT_DIR]; it adds the median of the
# older and unseen networks' kept-heap rounds (data/collect/epyc-milan-2c/keep/), their
# reserve-heap rounds where OUT_DIR has no reserve record (networks/ of 2026-12-06, unseen/ of
# 2026-12-07), and the graph's count of activations of 32 MiB or more that predict's note reports
# (predict --json, fresh_mappings).
set -uo pipefail
cd "$(dirname "$0")/.."
measure=0
if [ "${1:-}" = --measure ]; then measure=1; shift; fi
out=${1:-data/collect/epyc-milan-2c/malloc}
JC=${JOULECAST:-build/joulecast}
net() {  # HEAP FILE ARCH BATCH [ENV...]
  local heap=$1 file=$2 arch=$3 b=$4
  shift 4
  env "$@" JOULECAST_HEAP="$heap" "$JC" collect --architecture "$arch" -b "$b" --mode forward \
    --threads 1 --min-seconds 1 --min-repetitions 3 -q -o "$out/$file" || echo "failed: $heap $arch" >&2
}
if [ $measure = 1 ]; then
  mkdir -p "$out"
  for n in vgg13_bn resnext50_32x4d vgg11; do net reserve reserve.jsonl $n 32; done
  for n in vgg13_bn:32 resnext50_32x4d:32 vgg11:32 densenet169:32 mobilenet_v2:32 \
    efficientnet_b2:32 resnet34:32 vgg11:8 squeezenet1_1:32; do
    net default default.jsonl "${n%%:*}" "${n#*:}"
  done
  for n in vgg13_bn resnext50_32x4d densenet169; do
    net default env.jsonl $n 32 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647
  done
  exit 0
fi
tmp=$(mktemp -d)
D=data/collect/epyc-milan-2c
for set in older unseen; do  # the kept-heap rounds
  python3 tools/median_record.py $(find $D/keep/$set-* -name networks-forward.jsonl) 2>/dev/null
done > "$tmp/keep.jsonl"
# the reserve-heap rounds: the older networks' (2026-12-06), the unseen ones' (2026-12-07)
for dir in $D/networks $D/unseen; do
  [ -d $dir ] && python3 tools/median_record.py $(find $dir -name networks-forward.jsonl) 2>/dev/null
done > "$tmp/reserve.jsonl"
python3 - "$out" "$tmp" "$JC" <<'PY'
import json, subprocess, sys
out, tmp, jc = sys.argv[1:4]
def load(f):
    try:
        return {(r['type'], r['batch_size']): r for r in map(json.loads, open(f))}
    except FileNotFoundError:
        return {}
sets = {'reserve': {**load(f'{tmp}/reserve.jsonl'), **load(f'{out}/reserve.jsonl')},
        'keep': load(f'{tmp}/keep.jsonl'),
        'default': load(f'{out}/default.jsonl'), 'env': load(f'{out}/env.jsonl')}
print('| network, batch | reserve s | keep s (faults/run) | default s (faults/run) | '
      'default / reserve-or-keep | MALLOC_MMAP_MAX_=0 s | graph: >= 32 MiB (pages) |')
print('|---|---:|---:|---:|---:|---:|---:|')
def cell(k, name):
    r = sets[name].get(k)
    if not r:
        return '', None
    f = r['context']['protocol'].get('faults_per_run', 0)
    return (f"{r['duration_s']:.3g}" + (f' ({f:,.0f})' if name in ('keep', 'default') else ''),
            r['duration_s'])
for k in sets['default']:
    fm = json.loads(subprocess.run([jc, 'predict', k[0], '-b', str(k[1]), '--model',
                                    'models/amd-epyc-milan-2c-reserve-time.json', '--json'],
                                   capture_output=True, text=True, check=True).stdout)['fresh_mappings']
    (rs, rv), (ks, kv), (ds, dv), (es, _) = (cell(k, n) for n in ('reserve', 'keep', 'default', 'env'))
    base = rv if rv else kv
    ratio = f'{dv / base:.2f}' if base else ''
    print(f"| {k[0]}, {k[1]} | {rs} | {ks} | {ds} | {ratio} | {es} | "
          f"{fm['tensors']} ({fm['pages']:,.0f}) |")
PY
rm -rf "$tmp"
