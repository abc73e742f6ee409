#include "joulecast/predict/network_estimate.h"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

#include "joulecast/arch/shape_inference.h"

namespace joulecast {
namespace {

const char* kElementwise[] = {"ReLU", "Sigmoid", "Tanh", "Softmax"};

NetworkEstimate Estimate(const Profile& profile, const Architecture& arch, std::int64_t batch,
                         std::vector<LayerInstance> leaves, const Shape& input) {
  if (batch < 1) throw std::runtime_error(fmt::format("batch size must be >= 1, got {}", batch));
  NetworkEstimate est;
  est.name = arch.name;
  est.target = profile.target;
  est.mode = profile.mode;
  est.batch_size = batch;
  est.input = input;
  const LayerPredictor* elementwise = nullptr;
  std::string elementwise_type;
  for (const char* t : kElementwise) {
    if ((elementwise = profile.Find(t))) {
      elementwise_type = t;
      break;
    }
  }
  // Batch the predictions per type: one feature matrix per predictor is far faster than one call
  // per layer.
  std::map<std::string, std::vector<std::size_t>> by_predictor;
  est.layers.resize(leaves.size());
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    LayerEstimate& le = est.layers[i];
    le.layer = std::move(leaves[i]);
    le.counts = CountLayer(le.layer, batch);
    const std::string& t = le.layer.type;
    if (profile.Find(t)) {
      le.method = "model";
      by_predictor[t].push_back(i);
    } else if (t == "Dropout" || t == "Flatten" || t == "Identity") {
      le.method = "zero";
    } else if (elementwise) {
      le.method = "per-element:" + elementwise_type;
      by_predictor["per-element"].push_back(i);
    } else {
      le.method = "none";
    }
  }
  for (const auto& [key, idx] : by_predictor) {
    std::vector<LayerInstance> proxies;
    std::vector<const LayerInstance*> ptrs;
    std::vector<std::int64_t> batches(idx.size(), batch);
    const LayerPredictor* p = key == "per-element" ? elementwise : profile.Find(key);
    if (key == "per-element") {
      // The element-wise predictor sees a flat layer with as many elements per sample.
      proxies.reserve(idx.size());
      for (std::size_t i : idx) {
        const LayerInstance& l = est.layers[i].layer;
        proxies.push_back(LayerInstance{l.name,
                                        elementwise_type,
                                        nlohmann::json::object(),
                                        Shape{static_cast<std::int64_t>(Elements(l.input_shape))},
                                        {}});
      }
      for (const auto& pr : proxies) ptrs.push_back(&pr);
    } else {
      for (std::size_t i : idx) ptrs.push_back(&est.layers[i].layer);
    }
    std::vector<double> v;
    try {
      v = p->PredictMany(ptrs, batches);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}: {}", arch.name, e.what()));
    }
    for (std::size_t j = 0; j < idx.size(); ++j) est.layers[idx[j]].value = v[j];
    if (p->baseline_per_unit <= 0) {
      est.baseline_total = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    for (std::size_t j = 0; j < idx.size(); ++j) {
      est.baseline_total += p->PredictBaseline(*ptrs[j], batch);
    }
  }
  for (const auto& le : est.layers) {
    TypeTotal& tt = est.by_type[le.layer.type];
    ++tt.count;
    tt.value += le.value;
    tt.macs += le.counts.macs;
    est.total += le.value;
    est.macs += le.counts.macs;
    // A repeated call reuses its module's weights.
    if (le.layer.call == CallKind::kModule) est.parameters += le.counts.parameters;
    if (!le.modelled()) {
      ++est.unmodelled_layers;
      est.unmodelled_macs += le.counts.macs;
      est.unmodelled_value += le.value;
    }
  }
  return est;
}

}  // namespace

NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch) {
  return Estimate(profile, arch, batch, InferOperations(arch), arch.input);
}

NetworkEstimate EstimateNetwork(const Profile& profile, const Architecture& arch,
                                std::int64_t batch, const Shape& input) {
  return Estimate(profile, arch, batch, InferOperations(arch, input), input);
}

nlohmann::json NetworkEstimate::ToJson(bool per_layer) const {
  const bool energy = target == "energy_j";
  const std::string unit = energy ? "j" : "s";
  nlohmann::json j = {{"name", name},
                      {"target", target},
                      {"mode", mode},
                      {"batch_size", batch_size},
                      {"input", input},
                      {"total_" + unit, total},
                      {"per_sample_" + unit, total / double(batch_size)},
                      {"macs", macs},
                      {"parameters", parameters}};
  j["by_type"] = nlohmann::json::object();
  for (const auto& [type, tt] : by_type) {
    j["by_type"][type] = {{"count", tt.count},
                          {unit, tt.value},
                          {"share", total > 0 ? tt.value / total : 0.0},
                          {"macs", tt.macs}};
  }
  j["unmodelled"] = {{"layers", unmodelled_layers},
                     {"macs_share", macs > 0 ? unmodelled_macs / macs : 0.0},
                     {"share", total > 0 ? unmodelled_value / total : 0.0}};
  if (per_layer) {
    j["layers"] = nlohmann::json::array();
    for (const auto& le : layers) {
      j["layers"].push_back({{"name", le.layer.name},
                             {"type", le.layer.type},
                             {"output_shape", le.layer.output_shape},
                             {"macs", le.counts.macs},
                             {unit, le.value},
                             {"share", total > 0 ? le.value / total : 0.0},
                             {"method", le.method}});
    }
  }
  return j;
}

}  // namespace joulecast
