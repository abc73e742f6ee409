#include "joulecast/report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

#include "joulecast/report/svg.h"

namespace joulecast::report {

namespace {

constexpr double kChartWidth = 1000;

const char* kStyle = R"(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: #1f2933;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 10px; }
.sub { color: #52606d; margin: 0 0 18px; }
section { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 16px 20px;
  margin: 0 0 18px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; background: none; border: 0; padding: 0; }
.card { flex: 1 1 180px; background: #fff; border: 1px solid #e4e7eb; border-radius: 8px;
  padding: 12px 16px; }
.card .k { color: #52606d; font-size: 13px; }
.card .v { font-size: 24px; font-weight: 600; white-space: nowrap; }
.card .d { color: #52606d; font-size: 13px; }
.card.hl { border-color: #d9822b; box-shadow: inset 4px 0 0 #d9822b; }
.card.warn { border-color: #c23b22; box-shadow: inset 4px 0 0 #c23b22; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e4e7eb;
  vertical-align: top; }
th { color: #52606d; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
section { overflow-x: auto; }
tr.hl td { background: #fdf1e4; font-weight: 600; }
tr.fb td { color: #9b2c1a; }
.note { color: #52606d; font-size: 13.5px; }
.callout { border-left: 4px solid #c23b22; background: #fbeae7; padding: 8px 12px;
  margin: 8px 0; }
.callout.ok { border-color: #3f8f5a; background: #e9f5ec; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 10px; }
dt { color: #52606d; }
dd { margin: 0; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: #3f6fb0; margin: 6px 0; }
footer { color: #7b8794; font-size: 12.5px; text-align: center; }
)";

// RFC 6901: "~" and "/" inside a key are escaped.
std::string PointerKey(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// The machine-readable attributes of a Quantity (none when --json does not hold it).
std::string DataAttrs(const Quantity& q) {
  if (q.json_pointer.empty()) return "";
  return fmt::format(" data-json=\"{}\" data-value=\"{}\"", EscapeText(q.json_pointer), q.value);
}

// The display scale of a set of values in `unit`: the SI prefix that keeps the largest of them
// between 1 and 1000, so a chart's axis and its table read in the same unit.
struct Scale {
  double factor = 1;
  std::string unit;
  std::string Format(double v, int sig = 4) const {
    return FormatNumber(v / factor, sig) + "\u202f" + unit;
  }
};

Scale SiScale(double max_abs, const std::string& unit) {
  static const std::pair<double, const char*> kPrefixes[] = {
      {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}, {1e-3, "m"}, {1e-6, "\u00b5"}, {1e-9, "n"}};
  if (!(max_abs > 0) || !std::isfinite(max_abs)) return {1, unit};
  for (const auto& [f, p] : kPrefixes) {
    if (max_abs >= f) return {f, std::string(p) + unit};
  }
  return {1e-9, "n" + unit};
}

// Counts (MACs, parameters) with an SI prefix and 4 significant digits: "370.3 G", "60.19 M".
std::string Count(double v) {
  static const std::pair<double, const char*> kPrefixes[] = {
      {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (const auto& [f, p] : kPrefixes) {
    if (std::abs(v) >= f) return FormatNumber(v / f, 4) + "\u202f" + p;
  }
  return FormatNumber(v, 4);
}

// A whole number in full with thin-space thousands ("1 000 000" rather than "1e+06"); other
// values with 6 significant digits.
std::string Whole(double v) {
  if (!(v >= 0 && v < 1e15 && v == std::floor(v))) return FormatNumber(v, 6);
  const std::string digits = fmt::format("{:.0f}", v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u2009";
    out += digits[i];
  }
  return out;
}

// Hours for long spans, seconds for short ones (a training job runs hours, a forward pass ms).
Scale TimeScale(double max_s) {
  if (max_s >= 2 * 86400) return {86400, "days"};
  if (max_s >= 2 * 3600) return {3600, "h"};
  if (max_s >= 120) return {60, "min"};
  return SiScale(max_s, "s");
}

Scale EnergyScale(double max_j) {
  // Above a few hundred kJ people think in kWh (bills, carbon calculators).
  if (max_j >= 3.6e5) return {3.6e6, "kWh"};
  return SiScale(max_j, "J");
}

const char* UnitOf(const std::string& target) { return target == "energy_j" ? "J" : "s"; }
const char* WhatOf(const std::string& target) {
  return target == "energy_j" ? "energy" : "time";
}

// What one run of the batch is: a profile's mode says whether its predictors measured forward
// passes or whole training steps (forward, backward, optimizer step).
std::string RunOf(const std::string& mode, bool plural = false) {
  const std::string run = mode == "train_step" ? "training step" : "forward pass";
  return plural ? run + (mode == "train_step" ? "s" : "es") : run;
}

Scale TargetScale(const std::string& target, double max) {
  return target == "energy_j" ? SiScale(max, "J") : SiScale(max, "s");
}

std::string Span(const Quantity& q, const std::string& text, const std::string& cls = "") {
  return fmt::format("<span{}{}>{}</span>", cls.empty() ? "" : " class=\"" + cls + "\"",
                     DataAttrs(q), EscapeText(text));
}

std::string Td(const Quantity& q, const std::string& text) {
  return fmt::format("<td class=\"n\"{}>{}</td>", DataAttrs(q), EscapeText(text));
}

std::string Td(const std::string& text, bool numeric = false) {
  return fmt::format("<td{}>{}</td>", numeric ? " class=\"n\"" : "", EscapeText(text));
}

std::string Card(const std::string& key, const Quantity& q, const std::string& value,
                 const std::string& detail = "", const std::string& cls = "") {
  return fmt::format(
      "<div class=\"card{}\"><div class=\"k\">{}</div><div class=\"v\"{}>{}</div>{}</div>\n",
      cls.empty() ? "" : " " + cls, EscapeText(key), DataAttrs(q), EscapeText(value),
      detail.empty() ? "" : "<div class=\"d\">" + EscapeText(detail) + "</div>");
}

std::string Percent(double share, int sig = 3) {
  return FormatNumber(100 * share, sig) + "%";
}

std::string Page(const std::string& title, const std::string& subtitle, const std::string& body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"joulecast {}\">\n<title>{}</title>\n<style>{}</style>\n"
      "</head>\n<body>\n<main>\n<header><h1>{}</h1><p class=\"sub\">{}</p></header>\n{}"
      "<footer>Made by joulecast {} from per-layer regressors; numbers are predictions, not "
      "measurements. Every figure that --json also prints carries it exactly in a data-value "
      "attribute.</footer>\n</main>\n</body>\n</html>\n",
      JOULECAST_VERSION, EscapeText("joulecast: " + title), kStyle, EscapeText(title),
      EscapeText(subtitle), body, JOULECAST_VERSION);
}

std::string ProfileSection(const ProfileSummary& p) {
  std::string s = "<section class=\"profile\">\n<h2>Profile used</h2>\n<dl>\n";
  auto item = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) s += fmt::format("<dt>{}</dt><dd>{}</dd>\n", EscapeText(k), EscapeText(v));
  };
  item("name", p.name);
  item("file", p.path);
  item("kind", p.kind);
  for (const auto& [k, v] : p.hardware) item(k, v);
  item("data", p.data);
  s += "</dl>\n";
  if (!p.sources.empty()) {
    // A profile fitted on many files would push the trust figures off the screen.
    const bool fold = p.sources.size() > 8;
    s += fold ? fmt::format("<details><summary>fitted on {} sources</summary>\n", p.sources.size())
              : "<p class=\"note\">fitted on:</p>\n";
    s += "<ul class=\"note\">\n";
    for (const auto& src : p.sources) s += "<li>" + EscapeText(src) + "</li>\n";
    s += fold ? "</ul>\n</details>\n" : "</ul>\n";
  }
  if (p.errors.empty()) {
    s += "<p class=\"callout\">This profile records no cross-validated error: its accuracy is "
         "unknown.</p>\n";
  } else {
    bool extrapolation = false;
    for (const auto& e : p.errors) extrapolation = extrapolation || e.extrapolation_mape_percent;
    s += fmt::format("<p class=\"note\">Cross-validated error: {}</p>\n", EscapeText(p.cv_method));
    s += "<table class=\"cv\">\n<tr><th></th><th class=\"n\">records</th><th class=\"n\">CV "
         "MAPE</th>";
    s += extrapolation ? "<th class=\"n\">extrapolation MAPE</th></tr>\n" : "</tr>\n";
    for (const auto& e : p.errors) {
      s += "<tr>" + Td(e.what) + Td(e.n ? std::to_string(e.n) : std::string("?"), true) +
           Td(FormatNumber(e.mape_percent, 3) + "%", true);
      if (extrapolation) {
        s += Td(e.extrapolation_mape_percent
                    ? FormatNumber(*e.extrapolation_mape_percent, 3) + "%"
                    : std::string("-"),
                true);
      }
      s += "</tr>\n";
    }
    s += "</table>\n";
  }
  return s + "</section>\n";
}

std::string JsonText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

ProfileSummary SummarizeProfile(const Profile& profile, const std::string& path) {
  ProfileSummary s;
  s.name = profile.name;
  s.path = path;
  s.kind = fmt::format("layer profile: {} per {} of the batch ({}), {} layer types",
                       WhatOf(profile.target), RunOf(profile.mode), UnitOf(profile.target),
                       profile.layers.size());
  for (const auto& [k, v] : profile.hardware.items()) s.hardware.emplace_back(k, JsonText(v));
  const nlohmann::json& d = profile.data;
  if (d.contains("files") && d["files"].is_array()) {
    for (const auto& f : d["files"]) s.sources.push_back(JsonText(f));
  }
  if (d.contains("records")) {
    s.data = fmt::format("{} measurement records from {} files", JsonText(d["records"]),
                         s.sources.size());
  }
  std::string folds = "k", fraction = "20";
  for (const auto& [type, lp] : profile.layers) {
    const nlohmann::json& cv = lp.cv;
    if (!cv.contains("metrics") || !cv["metrics"].contains("mape")) continue;
    CvError e;
    e.what = type;
    e.n = cv["metrics"].value("n", lp.training.value("n", std::size_t{0}));
    e.mape_percent = cv["metrics"]["mape"].get<double>();
    if (cv.contains("extrapolation_mape") && cv["extrapolation_mape"].is_number()) {
      e.extrapolation_mape_percent = cv["extrapolation_mape"].get<double>();
    }
    if (cv.contains("folds")) folds = JsonText(cv["folds"]);
    if (cv.contains("extrapolation_fraction")) {
      fraction = FormatNumber(100 * cv["extrapolation_fraction"].get<double>(), 3);
    }
    s.errors.push_back(e);
  }
  s.cv_method = fmt::format(
      "mean absolute percentage error of the out-of-fold predictions of {}-fold cross-validation, "
      "per layer in the target unit; extrapolation: fitted on the smaller layers, tested on the "
      "largest {}%.",
      folds, fraction);
  return s;
}

ProfileSummary SummarizeTrainingModel(const TrainingModel& model, const std::string& path) {
  ProfileSummary s;
  s.name = model.name;
  s.path = path;
  s.kind = "training profile: average power, epoch time and epoch energy of a training job";
  const nlohmann::json j = model.ToJson();
  const std::size_t n = j.value("n_runs", std::size_t{0});
  s.sources = model.trained_gpus();
  s.hardware.emplace_back("GPUs", fmt::format("{} GPU model(s), listed below", s.sources.size()));
  s.data = fmt::format("{} training runs", n);
  const std::string cv =
      j.contains("training") ? j["training"].value("cv", std::string()) : std::string();
  s.cv_method =
      cv == "leave-one-gpu-out"
          ? "mean absolute percentage error with leave-one-GPU-out cross-validation: each GPU's "
            "runs predicted by a model fitted on the other GPUs (how it does on a GPU it has never "
            "seen)."
          : "mean absolute percentage error of k-fold cross-validation over the runs.";
  s.errors.push_back({"power", n, model.power().cv_mape, std::nullopt});
  s.errors.push_back({"epoch time", n, model.time().cv_mape, std::nullopt});
  s.errors.push_back({"epoch energy", n, model.energy_cv_mape(), std::nullopt});
  return s;
}

NetworkReport MakeNetworkReport(const NetworkEstimate& est, bool per_layer,
                                const ProfileSummary& profile) {
  // The expressions below are those of NetworkEstimate::ToJson, so every value is the very double
  // that --json prints (the CLI test compares them through the data-value attributes).
  const std::string u = est.target == "energy_j" ? "j" : "s";
  NetworkReport r;
  r.network = est.name;
  r.target = est.target;
  r.mode = est.mode;
  r.batch_size = est.batch_size;
  r.input = FormatShape(est.input);
  r.total = {est.total, "/total_" + u};
  r.per_sample = {est.total / double(est.batch_size), "/per_sample_" + u};
  r.macs = {est.macs, "/macs"};
  r.parameters = {est.parameters, "/parameters"};
  for (const auto& [type, tt] : est.by_type) {
    const std::string base = "/by_type/" + PointerKey(type);
    r.by_type.push_back({type,
                         tt.count,
                         {tt.value, base + "/" + u},
                         {est.total > 0 ? tt.value / est.total : 0.0, base + "/share"},
                         {tt.macs, base + "/macs"}});
  }
  for (std::size_t i = 0; i < est.layers.size(); ++i) {
    const LayerEstimate& le = est.layers[i];
    const std::string base = per_layer ? fmt::format("/layers/{}", i) : "";
    auto at = [&](const char* key) { return per_layer ? base + "/" + key : std::string(); };
    r.layers.push_back({le.layer.name,
                        le.layer.type,
                        le.method,
                        {le.value, at(u.c_str())},
                        {est.total > 0 ? le.value / est.total : 0.0, at("share")},
                        {le.counts.macs, at("macs")}});
  }
  r.unmodelled_layers = {static_cast<double>(est.unmodelled_layers), "/unmodelled/layers"};
  r.unmodelled_macs_share = {est.macs > 0 ? est.unmodelled_macs / est.macs : 0.0,
                             "/unmodelled/macs_share"};
  r.unmodelled_share = {est.total > 0 ? est.unmodelled_value / est.total : 0.0,
                        "/unmodelled/share"};
  r.profile = profile;
  return r;
}

std::string NetworkReportHtml(const NetworkReport& r) {
  if (r.layers.empty()) {
    throw std::invalid_argument(fmt::format("network report of '{}': no layers", r.network));
  }
  const char* what = WhatOf(r.target);
  const char* unit = UnitOf(r.target);
  const Scale pass = TargetScale(r.target, r.total.value);
  const Scale sample = TargetScale(r.target, r.per_sample.value);
  std::string b = "<section class=\"cards\">\n";
  b += Card(fmt::format("{} per {} (batch {})", what, RunOf(r.mode), r.batch_size), r.total,
            pass.Format(r.total.value));
  b += Card(fmt::format("{} per sample", what), r.per_sample, sample.Format(r.per_sample.value));
  if (r.total_kwh_for_passes) {
    b += Card(fmt::format("for {} {}", Whole(r.passes), RunOf(r.mode, true)),
              *r.total_kwh_for_passes, FormatNumber(r.total_kwh_for_passes->value) + "\u202fkWh",
              fmt::format("{} samples", Whole(r.passes * double(r.batch_size))));
  }
  b += Card(fmt::format("MACs (batch {})", r.batch_size), r.macs, Count(r.macs.value),
            Count(r.macs.value / double(r.batch_size)) + " per sample");
  b += Card("parameters", r.parameters, Count(r.parameters.value));
  const bool unmodelled = r.unmodelled_layers.value > 0;
  b += Card("unmodelled operations", r.unmodelled_layers,
            FormatNumber(r.unmodelled_layers.value, 6),
            fmt::format("{} of MACs, {} of the {}", Percent(r.unmodelled_macs_share.value),
                        Percent(r.unmodelled_share.value), what),
            unmodelled ? "warn" : "");
  b += "</section>\n";

  // Which types are costed by a fallback (their layers all share the type's method).
  std::map<std::string, std::string> method_of;
  for (const LayerRow& l : r.layers) {
    if (l.method != "model") method_of[l.type] = l.method;
  }
  std::vector<TypeRow> types = r.by_type;
  std::stable_sort(types.begin(), types.end(),
                   [](const TypeRow& x, const TypeRow& y) { return x.value.value > y.value.value; });
  double type_max = 0;
  for (const TypeRow& t : types) type_max = std::max(type_max, t.value.value);
  const Scale ts = TargetScale(r.target, type_max);
  std::vector<Bar> bars;
  for (const TypeRow& t : types) {
    bars.push_back({fmt::format("{} \u00d7{}", t.type, t.count), t.value.value / ts.factor,
                    "(" + Percent(t.share.value) + ")", method_of.count(t.type) > 0});
  }
  ChartOptions co;
  co.title = fmt::format("{} of {} by layer type", what, r.network);
  co.x_label = fmt::format("{} per {} of the batch ({})", what, RunOf(r.mode), ts.unit);
  co.width = kChartWidth;
  b += fmt::format("<section>\n<h2>{} by layer type</h2>\n", what);
  b += HorizontalBarChart(bars, co);
  if (!method_of.empty()) {
    b += "<p class=\"note\">Orange bars: types without a fitted model in this profile, costed by a "
         "fallback (see below).</p>\n";
  }
  b += fmt::format(
      "<table class=\"types\">\n<tr><th>type</th><th class=\"n\">count</th><th class=\"n\">{} "
      "({})</th><th class=\"n\">share</th><th class=\"n\">MACs</th><th>method</th></tr>\n",
      what, ts.unit);
  for (const TypeRow& t : types) {
    const auto m = method_of.find(t.type);
    b += fmt::format("<tr{}>", m != method_of.end() ? " class=\"fb\"" : "") + Td(t.type) +
         Td(std::to_string(t.count), true) + Td(t.value, FormatNumber(t.value.value / ts.factor)) +
         Td(t.share, Percent(t.share.value)) + Td(t.macs, Count(t.macs.value)) +
         Td(m != method_of.end() ? m->second : std::string("model")) + "</tr>\n";
  }
  b += "</table>\n</section>\n";

  // Along the depth.
  double layer_max = 0;
  for (const LayerRow& l : r.layers) layer_max = std::max(layer_max, l.value.value);
  const Scale ls = TargetScale(r.target, layer_max);
  std::vector<DepthPoint> points;
  for (const LayerRow& l : r.layers) {
    points.push_back({fmt::format("{} ({})", l.name.empty() ? "-" : l.name, l.type),
                      l.value.value / ls.factor, l.method != "model"});
  }
  DepthChartOptions dopt;
  dopt.title = fmt::format("{} of {} along its depth", what, r.network);
  dopt.y_label = fmt::format("{} ({})", what, ls.unit);
  dopt.width = kChartWidth;
  dopt.height = 260;
  b += fmt::format("<section>\n<h2>Where the {} goes, along the depth</h2>\n", what);
  b += DepthChart(points, dopt);
  std::vector<std::size_t> order(r.layers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return r.layers[x].value.value > r.layers[y].value.value;
  });
  const std::size_t top = std::min<std::size_t>(10, order.size());
  auto layer_header = [&] {
    return fmt::format(
        "<tr><th class=\"n\">#</th><th>name</th><th>type</th><th class=\"n\">{} ({})</th><th "
        "class=\"n\">share</th><th class=\"n\">MACs</th><th>method</th></tr>\n",
        what, ls.unit);
  };
  auto layer_row = [&](std::size_t i) {
    const LayerRow& l = r.layers[i];
    return fmt::format("<tr{}>", l.method != "model" ? " class=\"fb\"" : "") +
           Td(std::to_string(i + 1), true) + Td(l.name) + Td(l.type) +
           Td(l.value, FormatNumber(l.value.value / ls.factor)) +
           Td(l.share, Percent(l.share.value)) + Td(l.macs, Count(l.macs.value)) +
           Td(l.method) + "</tr>\n";
  };
  b += fmt::format("<p class=\"note\">The {} most expensive of {} operations:</p>\n", top,
                   r.layers.size());
  b += "<table class=\"top\">\n" + layer_header();
  for (std::size_t k = 0; k < top; ++k) b += layer_row(order[k]);
  b += "</table>\n";
  b += fmt::format("<details><summary>All {} operations in forward order</summary>\n",
                   r.layers.size());
  b += "<table class=\"layers\">\n" + layer_header();
  for (std::size_t i = 0; i < r.layers.size(); ++i) b += layer_row(i);
  b += "</table>\n</details>\n</section>\n";

  // Unmodelled operations, grouped by type and fallback.
  b += "<section>\n<h2>Unmodelled operations</h2>\n";
  if (!unmodelled) {
    b += "<p class=\"callout ok\">Every operation was costed by a model fitted for its type.</p>\n";
  } else {
    b += fmt::format(
        "<p class=\"callout\">{} operations have no model for their type in this profile; they "
        "hold {} of the MACs and their fallbacks predict {} of the {}. Fallbacks: <b>zero</b> for "
        "views (Dropout, Flatten, Identity); <b>per-element:T</b> costs the layer as the "
        "element-wise type T on its input elements; <b>proxy:T</b> costs a compute-bound operator "
        "as the layer T of the same sizes (a matrix product as a Linear); <b>none</b> counts "
        "0.</p>\n",
        Span(r.unmodelled_layers, FormatNumber(r.unmodelled_layers.value, 6)),
        Span(r.unmodelled_macs_share, Percent(r.unmodelled_macs_share.value)),
        Span(r.unmodelled_share, Percent(r.unmodelled_share.value)), what);
    struct Group {
      std::size_t count = 0;
      double value = 0, macs = 0;
    };
    std::map<std::pair<std::string, std::string>, Group> groups;
    for (const LayerRow& l : r.layers) {
      if (l.method == "model") continue;
      Group& g = groups[{l.type, l.method}];
      ++g.count;
      g.value += l.value.value;
      g.macs += l.macs.value;
    }
    b += fmt::format(
        "<table class=\"unmodelled\">\n<tr><th>type</th><th>fallback</th><th "
        "class=\"n\">count</th><th class=\"n\">{} ({})</th><th class=\"n\">share</th><th "
        "class=\"n\">MACs</th></tr>\n",
        what, ts.unit);
    for (const auto& [key, g] : groups) {
      b += "<tr>" + Td(key.first) + Td(key.second) + Td(std::to_string(g.count), true) +
           Td(FormatNumber(g.value / ts.factor), true) +
           Td(r.total.value > 0 ? Percent(g.value / r.total.value) : std::string("-"), true) +
           Td(Count(g.macs), true) + "</tr>\n";
    }
    b += "</table>\n";
  }
  b += "</section>\n";
  b += ProfileSection(r.profile);
  return Page(fmt::format("{}: {} per {}", r.network, what, RunOf(r.mode)),
              fmt::format("batch {}, input {}, profile {} ({}); {} operations", r.batch_size,
                          r.input, r.profile.name, unit, r.layers.size()),
              b);
}

std::string ComparisonReportHtml(const ComparisonReport& r) {
  if (r.rows.empty()) throw std::invalid_argument("comparison report: no architectures");
  const char* what = WhatOf(r.target);
  double max_total = 0, max_sample = 0;
  for (const ArchitectureRow& a : r.rows) {
    max_total = std::max(max_total, a.total.value);
    max_sample = std::max(max_sample, a.per_sample.value);
  }
  const Scale ps = TargetScale(r.target, max_total), ss = TargetScale(r.target, max_sample);
  // The cheapest is the lowest total (rows come ranked, but do not rely on it for the marking).
  std::size_t cheapest = 0, dearest = 0;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    if (r.rows[i].total.value < r.rows[cheapest].total.value) cheapest = i;
    if (r.rows[i].total.value > r.rows[dearest].total.value) dearest = i;
  }
  const ArchitectureRow &lo = r.rows[cheapest], &hi = r.rows[dearest];
  std::string b = "<section class=\"cards\">\n";
  b += Card("cheapest: " + lo.name, lo.total, ps.Format(lo.total.value),
            fmt::format("per pass of the batch; {} per sample", ss.Format(lo.per_sample.value)),
            "hl");
  b += Card("dearest: " + hi.name, hi.total, ps.Format(hi.total.value),
            hi.factor ? fmt::format("{:.2f}\u00d7 the cheapest", hi.factor->value)
                      : std::string("factor undefined (cheapest predicts 0)"));
  b += Card("architectures", {}, std::to_string(r.rows.size()),
            fmt::format("batch {}", r.batch_size));
  b += "</section>\n";

  std::vector<Bar> bars;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const ArchitectureRow& a = r.rows[i];
    bars.push_back({a.name, a.total.value / ps.factor,
                    a.factor ? fmt::format("({:.2f}\u00d7)", a.factor->value) : "",
                    i == cheapest});
  }
  ChartOptions co;
  co.title = fmt::format("{} per {} by architecture", what, RunOf(r.mode));
  co.x_label = fmt::format("{} per {} of the batch of {} ({})", what, RunOf(r.mode), r.batch_size,
                           ps.unit);
  co.width = kChartWidth;
  b += fmt::format("<section>\n<h2>{} per architecture</h2>\n", what);
  b += HorizontalBarChart(bars, co);
  b += "<p class=\"note\">Factor in brackets: relative to the cheapest (orange).</p>\n</section>\n";

  std::vector<ScatterPoint> points;
  std::vector<std::size_t> point_row;
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    if (r.rows[i].accuracy) {
      points.push_back({r.rows[i].name, r.rows[i].per_sample.value / ss.factor,
                        100 * r.rows[i].accuracy->value});
      point_row.push_back(i);
    } else {
      missing.push_back(r.rows[i].name);
    }
  }
  std::vector<bool> on_front(r.rows.size(), false);
  if (!points.empty()) {
    const std::vector<bool> front = ParetoFront(points);
    for (std::size_t k = 0; k < points.size(); ++k) on_front[point_row[k]] = front[k];
    double x_lo = points[0].x, x_hi = x_lo;
    for (const auto& p : points) {
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
    }
    ScatterOptions so;
    so.title = fmt::format("{} per sample against accuracy", what);
    // Architectures differ by orders of magnitude; a linear axis would pile the small ones up.
    so.log_x = x_lo > 0 && x_hi / x_lo > 8;
    so.x_label = fmt::format("{} per sample ({}{}) \u2190 cheaper", what, ss.unit,
                             so.log_x ? ", logarithmic" : "");
    so.y_label = "accuracy (%) \u2192 better";
    so.width = kChartWidth;
    so.height = 380;
    b += fmt::format("<section>\n<h2>{} against accuracy</h2>\n", what);
    b += ScatterChart(points, so);
    b += "<p class=\"note\">Orange: the Pareto front, the architectures no other beats on both "
         "cost and accuracy; hollow: an architecture on the front is cheaper and at least as "
         "accurate.</p>\n";
    if (!missing.empty()) {
      std::string names;
      for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
      b += fmt::format("<p class=\"note\">No accuracy given for: {}.</p>\n", EscapeText(names));
    }
    b += "</section>\n";
  }

  b += "<section>\n<h2>All architectures, cheapest first</h2>\n<table class=\"archs\">\n";
  b += fmt::format(
      "<tr><th class=\"n\">#</th><th>architecture</th><th class=\"n\">per pass ({})</th><th "
      "class=\"n\">per sample ({})</th><th class=\"n\">MACs (batch)</th><th "
      "class=\"n\">parameters</th><th class=\"n\">factor</th><th class=\"n\">unmodelled "
      "MACs</th>{}</tr>\n",
      ps.unit, ss.unit, points.empty() ? "" : "<th class=\"n\">accuracy</th><th>Pareto</th>");
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const ArchitectureRow& a = r.rows[i];
    b += fmt::format("<tr{}>", i == cheapest ? " class=\"hl\"" : "") +
         Td(std::to_string(i + 1), true) + Td(a.name) +
         Td(a.total, FormatNumber(a.total.value / ps.factor)) +
         Td(a.per_sample, FormatNumber(a.per_sample.value / ss.factor)) +
         Td(a.macs, Count(a.macs.value)) + Td(a.parameters, Count(a.parameters.value)) +
         (a.factor ? Td(*a.factor, fmt::format("{:.2f}\u00d7", a.factor->value))
                   : Td("n/a", true)) +
         Td(a.unmodelled_macs_share, Percent(a.unmodelled_macs_share.value));
    if (!points.empty()) {
      b += (a.accuracy ? Td(*a.accuracy, Percent(a.accuracy->value, 4)) : Td("-", true)) +
           Td(on_front[i] ? "\u2713 front" : "");
    }
    b += "</tr>\n";
  }
  b += "</table>\n<p class=\"note\">Unmodelled MACs: the share of each network's MACs in layers "
       "the profile has no model for (costed by fallbacks; see predict's report).</p>\n"
       "</section>\n";
  b += ProfileSection(r.profile);
  return Page(fmt::format("{} of {} architectures", what, r.rows.size()),
              fmt::format("{} per {} at batch {}, profile {}", what, RunOf(r.mode), r.batch_size,
                          r.profile.name),
              b);
}

std::string TrainingReportHtml(const TrainingReport& r) {
  if (r.settings.empty()) throw std::invalid_argument("training report: no settings");
  const std::vector<Baseline>& names = r.settings.front().baselines;
  for (const TrainingSetting& s : r.settings) {
    bool same = s.baselines.size() == names.size();
    for (std::size_t k = 0; same && k < names.size(); ++k) {
      same = s.baselines[k].name == names[k].name;
    }
    if (!same) {
      throw std::invalid_argument(fmt::format(
          "training report: setting '{}' has other baselines than '{}'", s.name,
          r.settings.front().name));
    }
  }
  bool any_co2 = false, any_power = false, any_energy = false, any_time = false;
  bool all_energy = true, all_time = true;
  double max_e = 0, max_t = 0, max_co2 = 0;
  std::size_t cheapest = r.settings.size();
  for (std::size_t i = 0; i < r.settings.size(); ++i) {
    const TrainingSetting& s = r.settings[i];
    any_co2 = any_co2 || s.co2_kg.has_value();
    any_power = any_power || s.power_w.has_value();
    any_energy = any_energy || s.energy_j.has_value();
    any_time = any_time || s.time_s.has_value();
    all_energy = all_energy && s.energy_j.has_value();
    all_time = all_time && s.time_s.has_value();
    if (s.energy_j) max_e = std::max(max_e, s.energy_j->value);
    for (const Baseline& bl : s.baselines) max_e = std::max(max_e, bl.energy_j.value);
    if (s.time_s) max_t = std::max(max_t, s.time_s->value);
    if (s.co2_kg) max_co2 = std::max(max_co2, s.co2_kg->value);
    if (s.cheapest && cheapest == r.settings.size()) cheapest = i;
  }
  const Scale es = EnergyScale(max_e), tsc = TimeScale(max_t);
  const Scale cs = max_co2 >= 1 ? Scale{1, "kg"} : Scale{1e-3, "g"};
  const bool single = r.settings.size() == 1;
  std::string b;
  if (!r.context.empty()) {
    b += "<section>\n<dl>\n";
    for (const auto& [k, v] : r.context) {
      b += fmt::format("<dt>{}</dt><dd>{}</dd>\n", EscapeText(k), EscapeText(v));
    }
    b += "</dl>\n</section>\n";
  }
  // The cards describe the single setting, or the cheapest of a sweep.
  const TrainingSetting& head = r.settings[cheapest < r.settings.size() ? cheapest : 0];
  const std::string suffix =
      single ? "" : (cheapest < r.settings.size() ? " (cheapest: " + head.name + ")" : "");
  b += "<section class=\"cards\">\n";
  if (head.energy_j) {
    b += Card("energy" + suffix, *head.energy_j, es.Format(head.energy_j->value),
              FormatNumber(head.energy_j->value / 3.6e6) + "\u202fkWh", single ? "" : "hl");
  }
  if (head.time_s) {
    b += Card("time" + suffix, *head.time_s, tsc.Format(head.time_s->value, 3),
              FormatNumber(head.time_s->value / 3600) + "\u202fh");
  }
  if (head.co2_kg) {
    b += Card("CO\u2082" + suffix, *head.co2_kg, cs.Format(head.co2_kg->value, 3));
  }
  if (head.power_w) {
    b += Card("average power" + suffix, *head.power_w, FormatNumber(head.power_w->value) + "\u202fW");
  }
  b += "</section>\n";

  std::vector<std::string> series{"joulecast (ours)"};
  for (const Baseline& bl : names) series.push_back(bl.name);
  ChartOptions co;
  co.title = single ? "energy: ours beside the baselines" : "energy per setting, ours beside the baselines";
  co.y_label = fmt::format("energy ({})", es.unit);
  co.width = kChartWidth;
  co.height = 280;
  b += "<section>\n";
  if (all_energy) {
    std::vector<BarGroup> groups;
    for (std::size_t i = 0; i < r.settings.size(); ++i) {
      const TrainingSetting& s = r.settings[i];
      BarGroup g{s.name, {s.energy_j->value / es.factor}, s.cheapest && !single};
      for (const Baseline& bl : s.baselines) g.values.push_back(bl.energy_j.value / es.factor);
      groups.push_back(g);
    }
    b += fmt::format("<h2>{}</h2>\n",
                     single ? "Energy: ours beside the baselines" : "Energy per setting");
    b += BarChart(series, groups, co);
  }
  if (!single && cheapest < r.settings.size() && (all_energy || all_time)) {
    b += "<p class=\"note\">Shaded: the cheapest setting.</p>\n";
  }
  if (!single && all_time) {
    std::vector<BarGroup> tg;
    for (const TrainingSetting& s : r.settings) {
      tg.push_back({s.name, {s.time_s->value / tsc.factor}, s.cheapest});
    }
    ChartOptions to = co;
    to.title = "time per setting";
    to.y_label = fmt::format("time ({})", tsc.unit);
    to.height = 200;
    b += "<h2>Time per setting</h2>\n" + BarChart({"time"}, tg, to);
  }
  for (const std::string& note : r.notes) {
    b += "<p class=\"note\">" + EscapeText(note) + "</p>\n";
  }
  b += "</section>\n";

  b += fmt::format("<section>\n<h2>{}</h2>\n<table class=\"settings\">\n<tr><th>setting</th>",
                   single ? "Numbers" : "All settings");
  if (any_energy) b += fmt::format("<th class=\"n\">energy ({})</th>", es.unit);
  if (any_time) b += fmt::format("<th class=\"n\">time ({})</th>", tsc.unit);
  if (any_co2) b += fmt::format("<th class=\"n\">CO\u2082 ({})</th>", cs.unit);
  if (any_power) b += "<th class=\"n\">power (W)</th>";
  for (const Baseline& bl : names) {
    b += fmt::format("<th class=\"n\">{} ({})</th>", EscapeText(bl.name), es.unit);
  }
  const bool to_target = !r.target.empty();
  // Energy to target spans another range than the totals (more or fewer epochs): its own scale.
  double max_target = 0;
  for (const TrainingSetting& s : r.settings) {
    if (s.target_energy_j) max_target = std::max(max_target, s.target_energy_j->value);
  }
  const Scale gs = EnergyScale(max_target);
  if (to_target) {
    b += fmt::format("<th class=\"n\">epochs to target</th><th class=\"n\">energy to target "
                     "({})</th>",
                     gs.unit);
  }
  b += "</tr>\n";
  for (const TrainingSetting& s : r.settings) {
    b += fmt::format("<tr{}>", s.cheapest && !single ? " class=\"hl\"" : "") +
         Td(s.name + (s.cheapest && !single ? " \u2605 cheapest" : ""));
    if (any_energy) {
      b +=
          s.energy_j ? Td(*s.energy_j, FormatNumber(s.energy_j->value / es.factor)) : Td("-", true);
    }
    if (any_time) {
      b += s.time_s ? Td(*s.time_s, FormatNumber(s.time_s->value / tsc.factor)) : Td("-", true);
    }
    if (any_co2) {
      b += s.co2_kg ? Td(*s.co2_kg, FormatNumber(s.co2_kg->value / cs.factor)) : Td("-", true);
    }
    if (any_power) b += s.power_w ? Td(*s.power_w, FormatNumber(s.power_w->value)) : Td("-", true);
    for (const Baseline& bl : s.baselines) {
      const bool ours = s.energy_j && s.energy_j->value > 0;
      b += Td(
          bl.energy_j,
          FormatNumber(bl.energy_j.value / es.factor) +
              (ours ? fmt::format(" ({:.2f}\u00d7)", bl.energy_j.value / s.energy_j->value) : ""));
    }
    if (to_target) {
      b += s.target_epochs ? Td(*s.target_epochs, FormatNumber(s.target_epochs->value))
                           : Td("-", true);
      b += s.target_energy_j
               ? Td(*s.target_energy_j, FormatNumber(s.target_energy_j->value / gs.factor) +
                                            (s.cheapest_to_target ? " \u2605" : ""))
               : Td("-", true);
    }
    b += "</tr>\n";
  }
  b += "</table>\n";
  if (!names.empty()) {
    b += "<p class=\"note\">Baseline columns: in brackets, the baseline over our estimate.</p>\n";
  }
  if (to_target) {
    b += fmt::format(
        "<p class=\"note\">To target: {}; \u2605 the setting that reaches it with the least "
        "energy; - no measured run at that setting reached it.</p>\n",
        EscapeText(r.target));
  }
  b += "</section>\n";
  b += ProfileSection(r.profile);
  return Page(r.title.empty() ? std::string("training estimate") : r.title,
              single ? fmt::format("training estimate, profile {}", r.profile.name)
                     : fmt::format("{} settings, profile {}", r.settings.size(), r.profile.name),
              b);
}

}  // namespace joulecast::report
