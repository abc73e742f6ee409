#!/usr/bin/env bash
# The whole-network figures of a reserve-heap time profile (README, "A reserve-heap campaign"): MAPE %
# of `joulecast evaluate` on every set of network records measured under the reserve heap, one
# line per set (the per-type constant x MACs baseline of the same command in brackets).
#
#   tools/reserve_figures.sh [PROFILE ...]      (default models/amd-epyc-2c-reserve-time.json)
#
# Evaluation only: none of these records is in the profile's fit.
set -euo pipefail
cd "$(dirname "$0")/.."
JC=${JOULECAST:-build/joulecast}
R=data/collect/epyc-2c/reserve
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OLDER='"type":"(alexnet|vgg11|resnet18|mobilenet_v2)"'
for m in forward train_step; do
  grep -E "$OLDER" "$R/networks-$m.jsonl" > "$TMP/older4-$m.jsonl"
  python3 tools/median_record.py "$R"/heldout/{,round2/,round3/}networks-$m.jsonl \
    > "$TMP/heldout-median-$m.jsonl"
done
# line PROFILE LABEL FILE: the label, then "MAPE (baseline) n"; a failed evaluate stops the script.
line() {
  local out
  out=$("$JC" evaluate --model "$1" "$3")
  printf '    %-58s %s\n' "$2" "$(awk '$1 == "(all)" { printf "%6.2f (%6.2f) n %d", $5, $8, $2 }' <<< "$out")"
}
for p in "${@:-models/amd-epyc-2c-reserve-time.json}"; do
  echo "== $p"
  for m in forward train_step; do
    echo "  $m"
    line "$p" "six modern networks, afternoon" "$R/modern-networks-$m.jsonl"
    line "$p" "older networks, afternoon" "$R/networks-$m.jsonl"
    line "$p" "alexnet, vgg11, resnet18, mobilenet_v2 (1/8/32), afternoon" "$TMP/older4-$m.jsonl"
    line "$p" "the same four, night (median of 3 rounds)" "$R/night/median-networks-$m.jsonl"
    line "$p" "the same four, 2026-12-06 (median of 3 rounds)" "$R/dec06/median-networks-$m.jsonl"
    for d in heldout heldout/round2 heldout/round3; do
      line "$p" "seven never-measured networks, $d" "$R/$d/networks-$m.jsonl"
    done
    line "$p" "the same seven, median of the 3 rounds" "$TMP/heldout-median-$m.jsonl"
  done
done
