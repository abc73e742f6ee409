#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cpp) with clang, ASan and UBSan in build-fuzz, seeds
# their corpora from the repository's files (tools/fuzz_seeds.sh) and runs each target, one after
# the other, for a bounded time:
#
#   tools/run_fuzz.sh [SECONDS] [TARGET...]     SECONDS per target, default 60; all targets default
#
# Prints one line per target: "target: N runs in S s, OK" (N from libFuzzer's "Done N runs"), or
# FAILED with the crashing input's path (libFuzzer writes it to build-fuzz/findings/<target>/).
# Exits non-zero when any target found something. Environment: BUILD_DIR (build-fuzz), NICE
# (nice level, default 0; use 19 on a shared machine), JOBS (targets run at a time, default 1),
# TIMEOUT (seconds one input may take before
# libFuzzer reports it as a finding; default 25, or 300 when niced: libFuzzer measures wall-clock
# time, and a niced process on a busy core is starved for long stretches), FUZZ_ARGS (extra
# libFuzzer flags), NO_BUILD=1 to skip the build.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${BUILD_DIR:-build-fuzz}
nice_level=${NICE:-0}
if [ "$nice_level" = 0 ]; then timeout=${TIMEOUT:-25}; else timeout=${TIMEOUT:-300}; fi

if [ "${NO_BUILD:-0}" != 1 ]; then
  CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOULECAST_FUZZ=ON -DJOULECAST_TESTS=OFF \
    -DJOULECAST_BENCH=OFF -DJOULECAST_TORCHSCRIPT=OFF -DJOULECAST_COLLECTOR=OFF \
    -DJOULECAST_TOOLS=OFF >/dev/null || exit 1
  nice -n "$nice_level" cmake --build "$build" || exit 1
fi
tools/fuzz_seeds.sh "$build/corpus" >/dev/null || exit 1

# Inputs above these sizes are not generated (the seeds are below them).
max_len() {
  case "$1" in
    profile_fuzz) echo 400000 ;;
    architecture_json_fuzz | graph_json_fuzz | repr_fuzz | training_profile_fuzz | onnx_fuzz) echo 65536 ;;
    size_arg_fuzz | shard_fuzz) echo 256 ;;
    *) echo 16384 ;;
  esac
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi

# One target: its line goes to stdout, its exit status (0 or 1) is returned.
run_one() {
  local t=$1 bin="$build/fuzz/$1"
  if [ ! -x "$bin" ] && [ "$t" = onnx_fuzz ] && ! grep -q "^ONNX_DIR:PATH=/" "$build/CMakeCache.txt" 2>/dev/null; then
    echo "$t: not built (CMake found no libonnx-dev), skipped"
    return 0
  fi
  if [ ! -x "$bin" ]; then
    echo "$t: not built ($bin missing)"
    return 1
  fi
  mkdir -p "$build/corpus/$t" "$build/findings/$t" "$build/logs"
  local log="$build/logs/$t.log" start rc took runs artifact
  start=$(date +%s)
  # -rss_limit_mb: the profile target holds a few copies of a 400 kB JSON tree per input.
  nice -n "$nice_level" "$bin" "$build/corpus/$t" -max_total_time="$seconds" \
    -max_len="$(max_len "$t")" -timeout="$timeout" -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t/" ${FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
  if [ $rc -eq 0 ]; then
    echo "$t: ${runs:-?} runs in ${took} s, OK"
    return 0
  fi
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  echo "$t: FAILED after ${took} s (exit $rc), input ${artifact:-?}; log $log"
  grep -m 3 -E "ERROR|FUZZ FINDING|runtime error" "$log" | sed 's/^/  /'
  return 1
}

# JOBS targets at a time (each is one process on one core); the lines come out in target order.
jobs_max=${JOBS:-1}
results="$build/logs/results"
rm -rf "$results" && mkdir -p "$results"
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  (run_one "$t" >"$results/$t.line"; echo $? >"$results/$t.status") &
done
wait
status=0
for t in "${targets[@]}"; do
  cat "$results/$t.line"
  [ "$(cat "$results/$t.status" 2>/dev/null)" = 0 ] || status=1
done
exit $status
