#include "joulecast/collect/repeatability.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

#include "joulecast/arch/layer.h"
#include "joulecast/collect/store.h"

namespace joulecast {

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("Quantile: no values");
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

SpreadSummary Summarise(const std::vector<double>& values) {
  SpreadSummary s;
  s.n = values.size();
  if (values.empty()) return s;
  s.median = Quantile(values, 0.5);
  s.p90 = Quantile(values, 0.9);
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

namespace {

std::string Label(const Measurement& m) {
  auto it = m.context.find("architecture");
  if (it != m.context.end() && it->is_string()) {
    return fmt::format("{} b{} {}", m.type, m.batch_size, m.mode);
  }
  return fmt::format("{} {} b{} {} {}", m.type, m.params.dump(), m.batch_size,
                     FormatShape(m.input_shape), m.mode);
}

nlohmann::json SummaryJson(const SpreadSummary& s) {
  return {{"n", s.n}, {"median", s.median}, {"p90", s.p90}, {"max", s.max}};
}

}  // namespace

RepeatabilityReport AnalyseRepeatability(const std::vector<Measurement>& records) {
  if (records.empty()) throw std::invalid_argument("repeatability: no records");
  RepeatabilityReport r;
  r.records = records.size();
  std::vector<double> within;
  std::map<std::string, std::vector<const Measurement*>> groups;
  for (const Measurement& m : records) {
    auto sp = m.context.find("spread");
    if (sp != m.context.end() && sp->is_object()) {
      auto iqr = sp->find("iqr_over_median");
      if (iqr != sp->end() && iqr->is_number()) within.push_back(iqr->get<double>());
    }
    groups[ConfigKey(m)].push_back(&m);
  }
  r.within = Summarise(within);
  std::vector<double> ranges, cvs;
  for (const auto& [key, ms] : groups) {
    if (ms.size() < 2) continue;
    std::vector<double> t;
    for (const Measurement* m : ms) t.push_back(m->duration_s);
    RepeatedConfig c;
    c.label = Label(*ms.front());
    c.mode = ms.front()->mode;
    c.runs = t.size();
    c.median_s = Quantile(t, 0.5);
    const auto [lo, hi] = std::minmax_element(t.begin(), t.end());
    c.rel_range = (*hi - *lo) / c.median_s;
    const double mean = std::accumulate(t.begin(), t.end(), 0.0) / static_cast<double>(t.size());
    double ss = 0;
    for (double v : t) ss += (v - mean) * (v - mean);
    c.cv = std::sqrt(ss / static_cast<double>(t.size() - 1)) / mean;
    ranges.push_back(c.rel_range);
    cvs.push_back(c.cv);
    r.repeated.push_back(std::move(c));
  }
  std::sort(r.repeated.begin(), r.repeated.end(),
            [](const RepeatedConfig& a, const RepeatedConfig& b) { return a.label < b.label; });
  r.between_rel_range = Summarise(ranges);
  r.between_cv = Summarise(cvs);
  return r;
}

nlohmann::json RepeatabilityReport::ToJson() const {
  nlohmann::json rep = nlohmann::json::array();
  for (const RepeatedConfig& c : repeated) {
    rep.push_back({{"config", c.label},
                   {"mode", c.mode},
                   {"runs", c.runs},
                   {"median_s", c.median_s},
                   {"rel_range", c.rel_range},
                   {"cv", c.cv}});
  }
  return {{"records", records},
          {"within_iqr_over_median", SummaryJson(within)},
          {"between", {{"rel_range", SummaryJson(between_rel_range)},
                       {"cv", SummaryJson(between_cv)},
                       {"configs", rep}}}};
}

}  // namespace joulecast
