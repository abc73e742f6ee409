#include "joulecast/predict/layer_predictor.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "joulecast/features/layer_features.h"

namespace joulecast {

double LayerPredictor::Predict(const LayerInstance& layer, std::int64_t batch_size) const {
  return PredictMany({&layer}, {batch_size}).front();
}

std::vector<double> LayerPredictor::PredictMany(
    const std::vector<const LayerInstance*>& layers,
    const std::vector<std::int64_t>& batch_sizes) const {
  if (layers.size() != batch_sizes.size()) {
    throw std::invalid_argument(
        fmt::format("LayerPredictor::PredictMany: {} layers but {} batch sizes", layers.size(),
                    batch_sizes.size()));
  }
  const auto width = static_cast<Eigen::Index>(RecipeFeatureNames(recipe).size());
  Eigen::MatrixXd X(static_cast<Eigen::Index>(layers.size()), width);
  std::vector<double> norm(layers.size());
  const bool extras = transfer && transfer->kind == "features";
  Eigen::MatrixXd E(extras ? X.rows() : 0, kTransferExtras);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerCounts counts = CountLayer(*layers[i], batch_sizes[i]);
    X.row(static_cast<Eigen::Index>(i)) =
        ComputeFeatures(recipe, *layers[i], batch_sizes[i], counts);
    norm[i] = Normaliser(counts);
    if (extras) {
      const auto e = TransferExtras(counts.input_elements, counts.output_elements);
      for (int j = 0; j < kTransferExtras; ++j)
        E(static_cast<Eigen::Index>(i), j) = e[static_cast<std::size_t>(j)];
    }
  }
  Eigen::VectorXd log_eff = model.Predict(X);
  if (transfer) {
    Eigen::RowVectorXd x(X.cols() + (extras ? kTransferExtras : 0));
    for (Eigen::Index i = 0; i < log_eff.size(); ++i) {
      x.head(X.cols()) = X.row(i);
      if (extras) x.tail(kTransferExtras) = E.row(i);
      log_eff[i] = transfer->Apply(log_eff[i], x);
    }
  }
  if (blend) {
    Eigen::MatrixXd Xb;
    if (blend->recipe != recipe) {
      Xb.resize(X.rows(), static_cast<Eigen::Index>(RecipeFeatureNames(blend->recipe).size()));
      for (std::size_t i = 0; i < layers.size(); ++i) {
        Xb.row(static_cast<Eigen::Index>(i)) =
            ComputeFeatures(blend->recipe, *layers[i], batch_sizes[i]);
      }
    }
    const Eigen::VectorXd r = blend->model.Predict(Xb.size() > 0 ? Xb : X);
    if (blend->kind == "residual") {
      log_eff += r.cwiseMax(blend->lo).cwiseMin(blend->hi);
    } else {
      log_eff = (1 - blend->weight) * log_eff + blend->weight * r;
    }
    log_eff.array() += blend->c0;
  }
  std::vector<double> out(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i)
    out[i] = std::exp(log_eff[static_cast<Eigen::Index>(i)]) * norm[i];
  return out;
}

double LayerPredictor::PredictBaseline(const LayerInstance& layer, std::int64_t batch_size) const {
  if (baseline_per_unit <= 0) {
    throw std::logic_error(
        fmt::format("{}: the profile has no baseline for this type", layer_type));
  }
  return baseline_per_unit * Normaliser(layer, batch_size);
}

nlohmann::json PredictorBlend::ToJson() const {
  nlohmann::json j = {{"kind", kind},
                      {"c0", c0},
                      {"recipe", recipe},
                      {"features", RecipeFeatureNames(recipe)},
                      {"model", model.ToJson()},
                      {"cv", cv}};
  if (kind == "residual") {
    j["formula"] = "ln(y/n) = transferred + clamp(model(x), range) + c0";
    j["range"] = {lo, hi};
  } else {
    j["formula"] = "ln(y/n) = (1-weight)*transferred + weight*model(x) + c0";
    j["weight"] = weight;
  }
  return j;
}

PredictorBlend PredictorBlend::FromJson(const nlohmann::json& j) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("blend: " + m); };
  if (!j.is_object()) fail("expected an object");
  PredictorBlend b;
  auto number = [&](const char* key) { return FiniteNumberField(j, key, "blend: "); };
  if (j.contains("kind")) {
    if (!j["kind"].is_string()) fail("kind: expected a string");
    b.kind = j["kind"].get<std::string>();
    if (b.kind != "mix" && b.kind != "residual")
      fail(fmt::format("kind: expected mix or residual, got '{}'", b.kind));
  }
  if (b.kind == "residual") {
    const auto& r = j.contains("range") ? j["range"] : nlohmann::json();
    if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number() ||
        !std::isfinite(r[0].get<double>()) || !std::isfinite(r[1].get<double>()) ||
        r[0].get<double>() > r[1].get<double>()) {
      fail("range: expected [lo, hi], two finite numbers with lo <= hi");
    }
    b.lo = r[0].get<double>();
    b.hi = r[1].get<double>();
  }
  if (b.kind == "mix") {
    b.weight = number("weight");
    if (!(b.weight > 0 && b.weight < 1))
      fail(fmt::format("weight: expected (0, 1), got {}", b.weight));
  }
  b.c0 = number("c0");
  if (!j.contains("recipe") || !j["recipe"].is_string()) fail("recipe: expected a string");
  b.recipe = j["recipe"].get<std::string>();
  const auto width = static_cast<Eigen::Index>(RecipeFeatureNames(b.recipe).size());
  if (!j.contains("model")) fail("model: missing");
  b.model = regress::TrendKernelRidge::FromJson(j["model"]);
  if (b.model.n_features() != width) {
    fail(fmt::format("recipe '{}' has {} features but the model was fitted on {}", b.recipe, width,
                     b.model.n_features()));
  }
  b.cv = j.value("cv", nlohmann::json::object());
  return b;
}

nlohmann::json LayerPredictor::ToJson() const {
  const int version = blend      ? kBlendFormatVersion
                      : transfer ? kTransferFormatVersion
                                 : kFormatVersion;
  nlohmann::json j = {{"format_version", version},
                      {"layer_type", layer_type},
                      {"recipe", recipe},
                      {"features", RecipeFeatureNames(recipe)},
                      {"target_transform", "log(target / normaliser)"},
                      {"model", model.ToJson()},
                      {"training", training},
                      {"cv", cv}};
  if (baseline_per_unit > 0) {
    j["baseline"] = {{"kind", "constant × normaliser"}, {"per_unit", baseline_per_unit}};
  }
  if (transfer) j["transfer"] = transfer->ToJson();
  if (blend) j["blend"] = blend->ToJson();
  return j;
}

LayerPredictor LayerPredictor::FromJson(const nlohmann::json& j, const std::string& where) {
  LayerPredictor p;
  try {
    const int version = j.at("format_version").get<int>();
    if (version != kFormatVersion && version != kTransferFormatVersion &&
        version != kBlendFormatVersion) {
      throw std::invalid_argument(
          fmt::format("unsupported format_version {}", j.at("format_version").dump()));
    }
    p.layer_type = j.at("layer_type").get<std::string>();
    p.recipe = j.at("recipe").get<std::string>();
    const auto width = static_cast<Eigen::Index>(RecipeFeatureNames(p.recipe).size());
    p.model = regress::TrendKernelRidge::FromJson(j.at("model"));
    if (p.model.n_features() != width) {
      throw std::invalid_argument(
          fmt::format("recipe '{}' has {} features but the model was fitted on {}", p.recipe, width,
                      p.model.n_features()));
    }
    if (version >= kTransferFormatVersion) {
      if (!j.contains("transfer")) {
        throw std::invalid_argument(fmt::format("format_version {} needs a transfer", version));
      }
      p.transfer = Transfer::FromJson(j.at("transfer"));
      if (p.transfer->kind == "features" && p.transfer->w.size() != width + kTransferExtras) {
        throw std::invalid_argument(fmt::format(
            "transfer: recipe '{}' and its extras have {} features but the transfer was fitted "
            "on {}",
            p.recipe, width + kTransferExtras, p.transfer->w.size()));
      }
    } else if (j.contains("transfer")) {
      throw std::invalid_argument("a transfer needs format_version 2");
    }
    if (version == kBlendFormatVersion) {
      if (!j.contains("blend")) throw std::invalid_argument("format_version 3 needs a blend");
      p.blend = PredictorBlend::FromJson(j.at("blend"));
    } else if (j.contains("blend")) {
      throw std::invalid_argument("a blend needs format_version 3");
    }
    p.training = j.value("training", nlohmann::json::object());
    p.cv = j.value("cv", nlohmann::json::object());
    if (j.contains("baseline")) {
      p.baseline_per_unit = j.at("baseline").at("per_unit").get<double>();
      if (!(p.baseline_per_unit > 0) || !std::isfinite(p.baseline_per_unit)) {
        throw std::invalid_argument(
            fmt::format("baseline.per_unit must be a positive number, got {}",
                        j.at("baseline").at("per_unit").dump()));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
  }
  return p;
}

}  // namespace joulecast
