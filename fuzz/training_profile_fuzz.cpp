// Training profiles (`sweep --model`, `train-estimate --model`: TrainingModel::FromJson). What
// reads must write and read back, and its predictions, for the three trace GPUs at small and large
// batch sizes, for each fitted workload and for an unknown one, must be finite and non-negative
// (or rejected with a one-line message).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/predict/gpu_spec.h"
#include "joulecast/predict/training_model.h"

using namespace joulecast;

namespace {

const GpuTable& Gpus() {
  static const GpuTable gpus = GpuTable::LoadDefault();
  return gpus;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Gpus();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const TrainingModel m = TrainingModel::FromJson(nlohmann::json::parse(text), "fuzz.json");
    try {
      TrainingModel::FromJson(nlohmann::json::parse(m.ToJson().dump()), "roundtrip");
    } catch (const std::exception& e) {
      fuzz::Fail(std::string("training profile does not read back: ") + e.what());
    }
    std::vector<std::string> workloads{"no_such_workload"};
    for (const WorkloadCurves& w : m.physical().workloads) workloads.push_back(w.name);
    for (const char* gpu : {"V100 PCIe 32GB", "P100 PCIe 16GB", "Quadro RTX 6000"}) {
      for (std::int64_t batch : {1, 96, 65536}) {
        for (const std::string& w : workloads) {
          fuzz::Guard(text, [&] {
            TrainingQuery q;
            q.gpu = Gpus().Find(gpu);
            q.train_gflops_per_sample = 1.8;
            q.params_m = 11.7;
            q.samples_per_epoch = 50000;
            q.batch_size = batch;
            q.workload = w;
            const TrainingPrediction p = m.Predict(q);
            fuzz::CheckNonNegative(p.power_w, "power_w");
            fuzz::CheckNonNegative(p.epoch_time_s, "epoch_time_s");
            fuzz::CheckNonNegative(p.epoch_energy_j, "epoch_energy_j");
          });
        }
      }
    }
  });
  return 0;
}
