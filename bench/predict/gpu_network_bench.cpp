// Whole transformers on a GPU (predict/gpu_network.h) with models/gpu-latency.json: the forward
// pass and the training step of NeuSight's GPT-3 XL configuration (Hugging Face config,
// data/neusight2025/model_configs/gpt3_xl.json) at sequence 2048, batch 8, on an H100 SXM.
// Graph loading is outside the timed loop (it is the same for every GPU); each iteration is one
// EstimateOnGpu, its kernel cache built afresh. Target (issue 19): predict under 100 ms.
//
// Run: build/predict_gpu_network_bench   (run from the repository root)
#include <benchmark/benchmark.h>

#include "joulecast/frontends/load_graph.h"
#include "joulecast/predict/gpu_network.h"

namespace {

using namespace joulecast;  // NOLINT(google-build-using-namespace): benchmark

void BM_Gpt3XlOnH100(benchmark::State& state, const char* mode) {
  const GpuOpModel model = GpuOpModel::Load("models/gpu-latency.json");
  const GpuTable gpus = GpuTable::LoadDefault();
  const GpuSpec& gpu = gpus.Find("H100 SXM 80GB");
  GraphOptions o;
  o.batch = 8;
  o.seq_len = 2048;
  const graph::Graph g = LoadGraph("data/neusight2025/model_configs/gpt3_xl.json", o);
  GpuNetworkOptions opt;
  opt.mode = mode;
  for (auto _ : state) {
    const GpuNetworkEstimate e = EstimateOnGpu(g, model, gpu, opt);
    benchmark::DoNotOptimize(e.total_s);
    state.counters["kernels"] = static_cast<double>(e.kernels);
  }
}
BENCHMARK_CAPTURE(BM_Gpt3XlOnH100, forward, "forward")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Gpt3XlOnH100, train_step, "train_step")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
