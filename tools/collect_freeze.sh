#!/usr/bin/env bash
# Measures, on this machine, a full training step and two frozen ones (backbone frozen and
# classifier trained; first half frozen) of resnet18 (batch 8), vit_b_16 (batch 1) and a BERT-base
# sequence classifier (sequence 128, batch 1), each run as its operator graph (so the full step
# runs on the same executor as the frozen ones; the graphs are kept in OUT_DIR/graphs), one
# libtorch thread, SGD with momentum. resnet18 in ROUNDS rounds, vit_b_16 and BERT in the first
# FULL_ROUNDS of them (their steps take 15-20 s on one thread here), each round to its own file (a
# store skips a configuration it holds); the heap policy from JOULECAST_HEAP (collect's --heap).
# Keep the other core idle while it runs.
#   tools/collect_freeze.sh [OUT_DIR] [ROUNDS] [FULL_ROUNDS]
#                                   (default data/collect/epyc-2c/freeze, 2 rounds, 1 full)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-data/collect/epyc-2c/freeze}
rounds=${2:-2}
full_rounds=${3:-1}
mkdir -p "$out"
# The zoo's module trees as graph JSON (kept beside the records: the record's type is this path).
tmp="$out/graphs"
mkdir -p "$tmp"
build/joulecast inspect resnet18 --json > "$tmp/resnet18.json"
build/joulecast inspect vit_b_16 --json > "$tmp/vit_b_16.json"
# A BERT-base sequence classifier (bert-base-uncased's config with BertForSequenceClassification
# and two labels), its graph trained from the classifier's output only (the runner trains a
# graph's first output, which for the Hugging Face graph is the encoder's last hidden state).
python3 - "$tmp/bert_cls.config.json" <<'PY'
import json, sys
c = json.load(open("data/architectures/hf/bert-base-uncased.json"))
c["architectures"] = ["BertForSequenceClassification"]
c["num_labels"] = 2
c["_name_or_path"] = "bert-base-uncased, sequence classification (2 labels)"
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
build/joulecast inspect "$tmp/bert_cls.config.json" --seq-len 128 --json |
  python3 -c 'import json, sys; g = json.load(sys.stdin); g["outputs"] = ["classifier"]; json.dump(g, sys.stdout)' \
  > "$tmp/bert_cls.json"
bert="$tmp/bert_cls.json"
common=(--mode train_step --threads 1 --min-seconds 3 --min-repetitions 3)
vit_half=conv_proj,class_token,encoder.pos_embedding
for i in 0 1 2 3 4 5; do vit_half+=",encoder.layers.encoder_layer_$i"; done
bert_half=bert.embeddings
for i in 0 1 2 3 4 5; do bert_half+=",bert.encoder.layer.$i"; done
for round in $(seq 1 "$rounds"); do
  f="$out/round$round.jsonl"
  run() { build/joulecast collect "${common[@]}" -o "$f" "$@"; }
  run --architecture "$tmp/resnet18.json" -b 8
  run --architecture "$tmp/resnet18.json" -b 8 --freeze conv1,bn1,layer1,layer2,layer3,layer4
  run --architecture "$tmp/resnet18.json" -b 8 --freeze conv1,bn1,layer1,layer2
  if [ "$round" -le "$full_rounds" ]; then
    run --architecture "$tmp/vit_b_16.json" -b 1
    run --architecture "$tmp/vit_b_16.json" -b 1 --freeze conv_proj,class_token,encoder
    run --architecture "$tmp/vit_b_16.json" -b 1 --freeze "$vit_half"
    run --architecture "$bert" -b 1
    run --architecture "$bert" -b 1 --freeze bert
    run --architecture "$bert" -b 1 --freeze "$bert_half"
  fi
done
