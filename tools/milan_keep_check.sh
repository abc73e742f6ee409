#!/usr/bin/env bash
# The user's default path on the Zen 3 VM (cpuinfo family 25 model 1; README, "A profile for a new
# machine in minutes"): the collector's default heap (keep), forward passes, a 10-minute
# `calibrate` with no --for from a profile of other hardware, then whole networks measured the
# same way. Every earlier study on this CPU ran under the reserve heap. In order:
#   1. the four older networks at batch 1/8/32, the seven held-out and the eight fresh ones,
#      forward, one round (tools/collect_older_networks.sh, tools/collect_heldout_networks.sh,
#      tools/collect_fresh_networks.sh with HEAP=keep MODES=forward), about 8 minutes;
#   2. calibrate --base models/xeon-gold-5120.json --minutes 10 (the published Xeon Gold 5120
#      energy profile) and --base models/amd-epyc-2c-time.json --minutes 10 (the family-26 EPYC's
#      default-heap profile), each into its own store. (On 2026-12-06 the second was first run
#      from models/amd-epyc-2c-keep-time.json, which is itself calibrated: calibrate measured ten
#      minutes of its plan and only then refused the base. Its 1259 records are the first lines of
#      calibrate-from-epyc-f26.jsonl; run again from amd-epyc-2c-time.json, whose plan holds
#      1166 of them within 5m48s, it measured the rest of the budget after step 3.)
#   3. the networks again, a second round.
#   4. (--xeon, a later session) calibrate --base models/intel-xeon-2c-time.json --minutes 10,
#      the base of the README's example, then the networks a third round; --networks N measures
#      the networks alone as round N.
#   5. (2026-12-07) tools/collect_unseen_networks.sh ROUND: eleven networks never measured here
#      before, at batch 1/8/32, in rounds 1, 2 and 3 (unseen-1 .. unseen-3).
#   6. (--default, 2026-12-07) the README example with calibrate's defaults of that day (reserve
#      heap): calibrate --base models/intel-xeon-2c-time.json --minutes 10, its store
#      data/collect/epyc-milan-2c/calibrate-default-from-xeon.jsonl; DEFAULT_MINUTES=20 --default
#      extended the same store to 20 minutes (05:35 UTC).
# Run it alone on core 0 (the other core idle):
#   flock /tmp/joulecast-cpu.lock taskset -c 0 tools/milan_keep_check.sh [--xeon] [OUT_DIR]
# then tools/milan_keep_check.sh --eval [OUT_DIR] refits the profiles from the stores (on
# copies, measuring nothing) and prints per-network MAPE against the median of the rounds (all
# rounds measured; ROUNDS="1 2" limits them). FRESH_PAGE_TIME=keep refits as calibrate did before
# 2026-12-07 (records as measured, fresh-page time included). The "reserve:" columns calibrate
# from the reserve-heap stores of tools/calibration_study_milan.sh (calibrate's default heap since
# 2026-12-07), measured on this VM on 2026-12-06. NETWORK_HEAP=reserve scores the profiles on the
# networks' reserve-heap rounds instead (README, "Large activations and glibc's default malloc").
set -uo pipefail
cd "$(dirname "$0")/.."
eval_only=0
xeon_only=0
default_only=0
if [ "${1:-}" = --eval ]; then
  eval_only=1
  shift
elif [ "${1:-}" = --xeon ]; then
  xeon_only=1
  shift
elif [ "${1:-}" = --default ]; then
  default_only=1
  shift
elif [ "${1:-}" = --networks ]; then
  round=$2
  shift 2
fi
out=${1:-data/collect/epyc-milan-2c/keep}
JC=${JOULECAST:-build/joulecast}
GOLD=models/xeon-gold-5120.json
EPYC=models/amd-epyc-2c-time.json
XEON=models/intel-xeon-2c-time.json
D=data/collect/epyc-milan-2c
networks() {  # ROUND
  HEAP=keep tools/collect_older_networks.sh "$out/older-$1" forward 1
  HEAP=keep MODES=forward tools/collect_heldout_networks.sh "$out/heldout-$1"
  HEAP=keep MODES=forward tools/collect_fresh_networks.sh "$out/fresh-$1"
}
calibrate() {  # BASE STORE PROFILE: ten minutes, what the store lacks of them measured
  "$JC" calibrate --base "$1" --minutes 10 --heap keep --max-other-cpus 0.25 --store "$2" \
    -o "$3" -q --fresh-page-time "${FRESH_PAGE_TIME:-remove}"
}
default_calibrate() {  # MINUTES STORE PROFILE: the README example with calibrate's own defaults
  "$JC" calibrate --base "$XEON" --minutes "$1" --store "$2" -o "$3" -q
}
# Measuring writes each profile outside the data folder: --eval refits it from a copy.
measured_profile=${TMPDIR:-/tmp}/milan-keep-check-profile.json
if [ -n "${round:-}" ]; then
  networks "$round"
  exit 0
fi
if [ $default_only = 1 ]; then
  # The README example as a user runs it since 2026-12-07: calibrate's own defaults (reserve
  # heap, forward, fresh-page time removed), only the store named.
  default_calibrate "${DEFAULT_MINUTES:-10}" "$D/calibrate-default-from-xeon.jsonl" "$measured_profile"
  exit 0
fi
if [ $xeon_only = 1 ]; then
  calibrate "$XEON" "$out/calibrate-from-xeon.jsonl" "$measured_profile"
  networks 3
  exit 0
fi
if [ $eval_only = 0 ]; then
  mkdir -p "$out"
  networks 1
  calibrate "$GOLD" "$out/calibrate-from-xeon-gold.jsonl" "$measured_profile"
  calibrate "$EPYC" "$out/calibrate-from-epyc-f26.jsonl" "$measured_profile"
  networks 2
  exit 0
fi
tmp=$(mktemp -d)
for spec in xeon-gold:$GOLD epyc-f26:$EPYC xeon:$XEON; do
  name=${spec%%:*}
  [ -f "$out/calibrate-from-$name.jsonl" ] || continue
  cp "$out/calibrate-from-$name.jsonl" "$tmp/$name.jsonl"
  calibrate "${spec#*:}" "$tmp/$name.jsonl" "$tmp/$name-10.json"
done
xeon_columns=()
[ -f "$tmp/xeon-10.json" ] && xeon_columns=("base Xeon" "$XEON" "Xeon 10 min" "$tmp/xeon-10.json")
# calibrate's default heap since 2026-12-07: ten minutes of forward records measured under the
# reserve heap on this VM on 2026-12-06 (tools/calibration_study_milan.sh's stores), each from
# the same base as a kept-heap column (the other EPYC's: its reserve-heap profile).
reserve() {  # BASE PROFILE STORE...: ten forward minutes from reserve-heap stores
  local base=$1 profile=$2
  shift 2
  cat "$@" > "$profile.jsonl"
  "$JC" calibrate --base "$base" --mode forward --minutes 10 --heap reserve --max-other-cpus 0.25 \
    --store "$profile.jsonl" -o "$profile" -q --fresh-page-time "${FRESH_PAGE_TIME:-remove}"
}
reserve models/amd-epyc-2c-reserve-time.json "$tmp/r-epyc.json" $D/calibrate-from-zen5.jsonl
reserve "$GOLD" "$tmp/r-gold.json" $D/calibrate-from-xeon-gold.jsonl
reserve "$XEON" "$tmp/r-xeon.json" $D/calibrate-from-xeon.jsonl $D/calibrate-from-xeon-more-forward.jsonl
default_columns=()
if [ -f "$D/calibrate-default-from-xeon.jsonl" ]; then
  # 2 and 5: prefixes of the same store, what those minutes buy; 20: the store as extended on
  # 2026-12-07 05:35 UTC (DEFAULT_MINUTES=20 --default; a copy may measure a few seconds more
  # where the store's cost falls just short of 20 minutes)
  for m in 10 2 5 20; do
    cp "$D/calibrate-default-from-xeon.jsonl" "$tmp/d-xeon-$m.jsonl"
    default_calibrate $m "$tmp/d-xeon-$m.jsonl" "$tmp/d-xeon-$m.json"
    default_columns+=("default: Xeon $m min" "$tmp/d-xeon-$m.json")
  done
fi
for set in older heldout fresh unseen; do
  files=()
  if [ "${NETWORK_HEAP:-keep}" = reserve ]; then
    # The same networks measured under the reserve heap (what the profiles predict: no fresh
    # pages), three rounds each: older, held-out and fresh on 2026-12-06, unseen on 2026-12-07.
    reserve_dir=$D/$set
    [ $set = older ] && reserve_dir=$D/networks
    while read -r f; do files+=("$f"); done \
      < <(find "$reserve_dir" -name networks-forward.jsonl | sort)
  else
    for r in ${ROUNDS:-1 2 3 4 5}; do
      [ -d "$out/$set-$r" ] && files+=($(find "$out/$set-$r" -name networks-forward.jsonl))
    done
  fi
  python3 tools/median_record.py "${files[@]}" > "$tmp/$set.jsonl"
  echo "$set (${NETWORK_HEAP:-keep} heap, median of ${#files[@]} rounds)"
  python3 tools/network_errors.py "$tmp/$set.jsonl" "base EPYC f26" "$EPYC" \
    "EPYC f26 10 min" "$tmp/epyc-f26-10.json" "Xeon Gold 10 min" "$tmp/xeon-gold-10.json" \
    "${xeon_columns[@]}" "reserve: EPYC f26 10 min" "$tmp/r-epyc.json" \
    "reserve: Gold 10 min" "$tmp/r-gold.json" "reserve: Xeon 10 min" "$tmp/r-xeon.json" \
    "${default_columns[@]}" \
    "Zen 3 full campaign (reserve)" models/amd-epyc-milan-2c-reserve-time.json
done
rm -rf "$tmp"
