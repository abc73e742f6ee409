// Time to fit the shipped profile: all seven layer types of data/getzner2023/random with the full
// cross-validation grid (what `joulecast fit` does). Target: under 60 s on a 2-core machine.
// Run: build/predict_profile_fit_bench  (peak memory: /usr/bin/time -v
// build/predict_profile_fit_bench)
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile_fit.h"

namespace {

std::vector<joulecast::Measurement> LoadRandom() {
  std::vector<joulecast::Measurement> all;
  for (const char* l : {"conv2d", "linear", "maxpool2d", "relu", "sigmoid", "tanh", "softmax"}) {
    auto r = joulecast::ReadMeasurements(std::string(JOULECAST_SOURCE_DIR) +
                                         "/data/getzner2023/random/" + l + ".jsonl");
    all.insert(all.end(), r.begin(), r.end());
  }
  return all;
}

void BM_FitAllSevenTypes(benchmark::State& state) {
  auto records = LoadRandom();
  for (auto _ : state) {
    joulecast::Profile p = joulecast::FitProfile(records, joulecast::FitOptions{});
    benchmark::DoNotOptimize(p);
  }
  state.counters["records"] = static_cast<double>(records.size());
}
BENCHMARK(BM_FitAllSevenTypes)->Unit(benchmark::kSecond)->Iterations(1);

void BM_FitConv2d(benchmark::State& state) {
  auto records = LoadRandom();
  joulecast::FitOptions o;
  o.only_types = {"Conv2d"};
  for (auto _ : state) {
    joulecast::Profile p = joulecast::FitProfile(records, o);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_FitConv2d)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
