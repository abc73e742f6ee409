#include "joulecast/predict/evaluate.h"

#include <fmt/format.h>

#include <limits>
#include <stdexcept>

#include "joulecast/predict/profile_fit.h"

namespace joulecast {

nlohmann::json Evaluation::ToJson() const {
  nlohmann::json j;
  j["layers"] = nlohmann::json::object();
  for (const auto& [type, e] : layers) {
    nlohmann::json m = e.metrics.ToJson();
    m["n"] = e.measured.size();
    j["layers"][type] = m;
  }
  j["skipped"] = skipped;
  return j;
}

Evaluation EvaluateLayers(const Profile& profile, const std::vector<Measurement>& records) {
  Evaluation ev;
  std::map<std::string, std::vector<const Measurement*>> by_type;
  for (const auto& m : records) {
    if (IsWholeNetwork(m)) {
      ++ev.skipped["whole-network records"];
      continue;
    }
    if (!profile.Find(m.type)) {
      ++ev.skipped[fmt::format("no predictor for {}", m.type)];
      continue;
    }
    if (profile.target == "energy_j" && !m.energy_j) {
      ++ev.skipped["records without energy (no meter)"];
      continue;
    }
    // Relative errors and logs are undefined at zero: such a record cannot be scored.
    if (TargetValue(m, profile.target) <= 0) {
      ++ev.skipped["records with a measured target <= 0"];
      continue;
    }
    by_type[m.type].push_back(&m);
  }
  for (const auto& [type, recs] : by_type) {
    const LayerPredictor& p = *profile.Find(type);
    std::vector<LayerInstance> layers(recs.size());
    std::vector<const LayerInstance*> ptrs;
    std::vector<std::int64_t> batches;
    TypeEvaluation te;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      layers[i] = LayerOf(*recs[i]);
      ptrs.push_back(&layers[i]);
      batches.push_back(recs[i]->batch_size);
      te.measured.push_back(TargetValue(*recs[i], profile.target));
    }
    te.predicted = p.PredictMany(ptrs, batches);
    Eigen::Map<const Eigen::VectorXd> yt(te.measured.data(),
                                         static_cast<Eigen::Index>(te.measured.size()));
    Eigen::Map<const Eigen::VectorXd> yp(te.predicted.data(),
                                         static_cast<Eigen::Index>(te.predicted.size()));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    te.metrics = regress::Metrics{nan, nan, nan, nan, nan, nan, te.measured.size()};
    if (yt.size() >= 2 && (yt.array() != yt[0]).any()) {
      te.metrics = regress::ComputeMetrics(yt, yp);
    } else {
      // R² and rank correlation need variation in the measured values; the errors do not.
      te.metrics.mape = regress::MAPE(yt, yp);
      te.metrics.rmse = regress::RMSE(yt, yp);
      te.metrics.mae = regress::MAE(yt, yp);
    }
    ev.layers.emplace(type, std::move(te));
  }
  if (ev.layers.empty())
    throw std::runtime_error("evaluate: no record has a layer type the profile predicts");
  return ev;
}

}  // namespace joulecast
