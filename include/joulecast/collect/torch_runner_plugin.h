// The C interface of the joulecast_collect_torch plugin (src/collect_torch/torch_runner_plugin.cpp),
// a module library that links libtorch and is dlopen()ed only by `joulecast collect`
// (joulecast/collect/torch_runner.h), so that predict and the other commands never load libtorch.
// Plain C types only; no C++ exception crosses the boundary.
#pragma once

extern "C" {

#define JOULECAST_RUNNER_ABI_VERSION 1

typedef int (*JoulecastRunnerAbiVersionFn)(void);

// Describes the library as JSON text: {"libtorch": "1.13.0", "parallel": "<at::get_parallel_info>",
// "config": "<at::show_config>", "cuda_available": bool, "cuda_devices": n}. Returns 0 on success.
typedef int (*JoulecastRunnerInfoFn)(char** json_out, char** error_out);

// Called by the plugin around the measured runs: phase 0 just before the first timed run (after
// warm-up, device synchronised), phase 1 just after the last one (device synchronised). A non-zero
// return aborts the measurement (the caller keeps its own error message).
typedef int (*JoulecastRunnerPhaseFn)(void* context, int phase);

// Measures one request (JSON text):
//   {"layer": {"type", "params", "input_shape"}} or {"architecture": <architecture JSON>},
//   "batch_size", "device" ("cpu"|"cuda"), "dtype" ("float32"|"float16"|"bfloat16"),
//   "mode" ("forward"|"train_step"), "threads" (>= 1), "min_seconds", "min_repetitions",
//   "warmup_seconds", "seed", "settle_heap" (optional, default false: see "warmup_settled")
// and writes the result as JSON text to *json_out:
//   {"samples_s": [seconds per run of each timed sample], "runs_per_sample": k, "runs": total
//    timed runs, "elapsed_s": wall time between the phase callbacks, "warmup_runs": n,
//    "warmup_settled": whether the last two warm-up runs faulted at most 64 fresh pages in
//    each (with settle_heap the warm-up goes on until they do, or 32 runs, or 60 s once 4
//    runs are done: collect/warm_up.h),
//    "faults_per_run": minor page faults of the process over the timed runs / runs, "threads":
//    at::get_num_threads()}
// Returns 0 on success, else non-zero with a one-line message in *error_out. Strings are released
// with the free function.
typedef int (*JoulecastRunnerMeasureFn)(const char* request_json, JoulecastRunnerPhaseFn phase,
                                        void* context, char** json_out, char** error_out);

typedef void (*JoulecastRunnerFreeFn)(char* text);

#define JOULECAST_RUNNER_ABI_VERSION_SYMBOL "joulecast_runner_abi_version"
#define JOULECAST_RUNNER_INFO_SYMBOL "joulecast_runner_info"
#define JOULECAST_RUNNER_MEASURE_SYMBOL "joulecast_runner_measure"
#define JOULECAST_RUNNER_FREE_SYMBOL "joulecast_runner_free"

}  // extern "C"
