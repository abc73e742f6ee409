#include "joulecast/predict/evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/load_graph.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/profile_fit.h"

namespace joulecast {
namespace {

regress::Metrics Score(const std::vector<double>& measured, const std::vector<double>& predicted) {
  Eigen::Map<const Eigen::VectorXd> yt(measured.data(), static_cast<Eigen::Index>(measured.size()));
  Eigen::Map<const Eigen::VectorXd> yp(predicted.data(),
                                       static_cast<Eigen::Index>(predicted.size()));
  if (yt.size() >= 2 && (yt.array() != yt[0]).any()) return regress::ComputeMetrics(yt, yp);
  // R² and rank correlation need variation in the measured values; the errors do not.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  regress::Metrics m{nan, nan, nan, nan, nan, nan, measured.size()};
  m.mape = regress::MAPE(yt, yp);
  m.rmse = regress::RMSE(yt, yp);
  m.mae = regress::MAE(yt, yp);
  return m;
}

}  // namespace

nlohmann::json Evaluation::ToJson() const {
  nlohmann::json j;
  j["layers"] = nlohmann::json::object();
  for (const auto& [type, e] : layers) {
    nlohmann::json m = e.metrics.ToJson();
    m["n"] = e.measured.size();
    if (e.baseline_metrics) m["baseline"] = e.baseline_metrics->ToJson();
    j["layers"][type] = m;
  }
  if (architectures) {
    const ArchitectureEvaluation& ae = *architectures;
    nlohmann::json a = ae.metrics.ToJson();
    a["n"] = ae.measured.size();
    a["by_architecture"] = nlohmann::json::object();
    for (const auto& [name, m] : ae.by_architecture) {
      a["by_architecture"][name] = {{"n", m.n}, {"mape", m.mape}};
      auto it = ae.by_architecture_batch.find(name);
      if (it == ae.by_architecture_batch.end()) continue;
      nlohmann::json& bb = a["by_architecture"][name]["by_batch"] = nlohmann::json::object();
      for (const auto& [b, mb] : it->second) {
        bb[std::to_string(b)] = {{"n", mb.n}, {"mape", mb.mape}};
      }
    }
    if (ae.baseline_metrics) a["baseline"] = ae.baseline_metrics->ToJson();
    j["architectures"] = a;
  }
  j["skipped"] = skipped;
  return j;
}

namespace {

// EvaluateLayers without the final check: an empty result when nothing could be scored.
Evaluation EvaluateMode(const Profile& profile, const std::vector<Measurement>& records) {
  Evaluation ev;
  ev.mode = profile.mode;
  std::map<std::string, std::vector<const Measurement*>> by_type;
  std::vector<const Measurement*> whole;
  for (const auto& m : records) {
    if (m.mode != profile.mode) {
      ++ev.skipped[fmt::format("records of mode {} (evaluated: {})", m.mode, profile.mode)];
      continue;
    }
    if ((m.dtype.empty() ? "float32" : m.dtype) != profile.dtype) {
      ++ev.skipped[fmt::format("records of dtype {} (the profile predicts {})", m.dtype,
                               profile.dtype)];
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
    if (IsWholeNetwork(m)) {
      whole.push_back(&m);
      continue;
    }
    if (!profile.Find(m.type)) {
      ++ev.skipped[fmt::format("no predictor for {}", m.type)];
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
    te.metrics = Score(te.measured, te.predicted);
    if (p.baseline_per_unit > 0) {
      for (std::size_t i = 0; i < recs.size(); ++i) {
        te.baseline.push_back(p.PredictBaseline(layers[i], batches[i]));
      }
      te.baseline_metrics = Score(te.measured, te.baseline);
    }
    ev.layers.emplace(type, std::move(te));
  }
  if (!whole.empty()) {
    ArchitectureEvaluation ae;
    for (const Measurement* m : whole) {
      GraphOptions options;
      options.batch = m->batch_size;
      options.input = m->input_shape;
      // A Hugging Face config's input is its tokens: the record says how many (collect --seq-len).
      if (m->context.is_object() && m->context.contains("seq_len")) {
        options.seq_len = m->context.at("seq_len").get<std::int64_t>();
        options.input.clear();
      }
      NetworkEstimate est = EstimateGraph(profile, LoadGraph(m->type, options));
      ae.names.push_back(m->type);
      ae.batch_sizes.push_back(m->batch_size);
      ae.measured.push_back(TargetValue(*m, profile.target));
      ae.predicted.push_back(est.total);
      ae.baseline.push_back(est.baseline_total);
    }
    ae.metrics = Score(ae.measured, ae.predicted);
    const bool baselines = std::none_of(ae.baseline.begin(), ae.baseline.end(),
                                        [](double v) { return std::isnan(v); });
    if (baselines) ae.baseline_metrics = Score(ae.measured, ae.baseline);
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by;
    for (std::size_t i = 0; i < ae.names.size(); ++i) {
      by[ae.names[i]].first.push_back(ae.measured[i]);
      by[ae.names[i]].second.push_back(ae.predicted[i]);
    }
    for (const auto& [name, mp] : by) ae.by_architecture.emplace(name, Score(mp.first, mp.second));
    std::map<std::pair<std::string, std::int64_t>,
             std::pair<std::vector<double>, std::vector<double>>>
        by_batch;
    for (std::size_t i = 0; i < ae.names.size(); ++i) {
      auto& mp = by_batch[{ae.names[i], ae.batch_sizes[i]}];
      mp.first.push_back(ae.measured[i]);
      mp.second.push_back(ae.predicted[i]);
    }
    for (const auto& [key, mp] : by_batch) {
      ae.by_architecture_batch[key.first].emplace(key.second, Score(mp.first, mp.second));
    }
    ev.architectures = std::move(ae);
  }
  return ev;
}

}  // namespace

Evaluation EvaluateLayers(const Profile& profile, const std::vector<Measurement>& records) {
  Evaluation ev = EvaluateMode(profile, records);
  if (ev.empty()) {
    throw std::runtime_error("evaluate: no record has a layer type the profile predicts");
  }
  return ev;
}

nlohmann::json ProfileEvaluation::ToJson() const {
  nlohmann::json j;
  j["modes"] = nlohmann::json::object();
  for (const auto& [mode, ev] : modes) {
    nlohmann::json e = ev.ToJson();
    e.erase("skipped");
    j["modes"][mode] = e;
  }
  if (auto it = modes.find("forward"); it != modes.end()) {
    j["layers"] = j["modes"]["forward"]["layers"];
    if (j["modes"]["forward"].contains("architectures")) {
      j["architectures"] = j["modes"]["forward"]["architectures"];
    }
  }
  j["skipped"] = skipped;
  return j;
}

ProfileEvaluation EvaluateProfile(const Profile& profile, const std::vector<Measurement>& records) {
  ProfileEvaluation out;
  std::map<std::string, std::vector<Measurement>> by_mode;
  for (const auto& m : records) by_mode[m.mode].push_back(m);
  for (auto& [mode, recs] : by_mode) {
    if (!profile.HasMode(mode)) {
      out.skipped[fmt::format("records of mode {} (the profile has no {} predictors)", mode,
                              mode)] += recs.size();
      continue;
    }
    Profile p = profile;
    p.SelectMode(mode, "evaluate");
    Evaluation ev = EvaluateMode(p, recs);
    for (const auto& [why, n] : ev.skipped) out.skipped[why] += n;
    if (!ev.empty()) out.modes.emplace(mode, std::move(ev));
  }
  if (out.modes.empty()) {
    throw std::runtime_error("evaluate: no record has a layer type the profile predicts");
  }
  return out;
}

}  // namespace joulecast
