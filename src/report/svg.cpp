#include "joulecast/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace joulecast::report {

namespace {

constexpr double kFontSize = 12;
constexpr const char* kInk = "#1f2933";
constexpr const char* kMuted = "#616e7c";
constexpr const char* kGrid = "#e4e7eb";
constexpr const char* kBlue = "#3f6fb0";
constexpr const char* kAccent = "#d9822b";
constexpr const char* kFlag = "#c23b22";
// Ours first, then the baselines: distinguishable in grey-scale print as well.
constexpr const char* kSeries[] = {"#3f6fb0", "#9aa5b1", "#c9a227", "#5b9e74", "#8e6bb3"};

// Coordinates with two decimals: sub-pixel precision without 17-digit noise in the file.
std::string N(double v) {
  if (std::abs(v) < 0.005) return "0";
  return fmt::format("{:.2f}", v);
}

std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// There is no font metrics here, so widths are estimated from an average glyph width of a
// sans-serif face (0.6 em is slightly generous, so the estimate errs towards no overlap).
double TextWidth(std::string_view s, double size = kFontSize) {
  return static_cast<double>(CodePoints(s)) * 0.6 * size;
}

// Cuts at a code point boundary so a multi-byte character is never split.
std::string Truncate(const std::string& s, std::size_t max_chars) {
  if (CodePoints(s) <= max_chars) return s;
  std::size_t seen = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == max_chars - 1) break;
      ++seen;
    }
  }
  return s.substr(0, i) + "\u2026";
}

std::string Open(double width, double height, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" "
      "width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\" "
      "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif\" "
      "font-size=\"{fs}\" fill=\"{ink}\"><title>{t}</title>\n",
      fmt::arg("w", N(width)), fmt::arg("h", N(height)), fmt::arg("t", EscapeText(title)),
      fmt::arg("fs", N(kFontSize)), fmt::arg("ink", kInk));
}

std::string Text(double x, double y, const std::string& text, const char* anchor = "start",
                 const std::string& extra = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\"{}>{}</text>\n", N(x), N(y),
                     anchor, extra.empty() ? "" : " " + extra, EscapeText(text));
}

void CheckValue(double v, const char* chart, const std::string& label) {
  if (!std::isfinite(v) || v < 0) {
    throw std::invalid_argument(fmt::format("{}: value of '{}' must be finite and >= 0, got {}",
                                            chart, label, v));
  }
}

// Ticks from 0 to at least `max` (a zero maximum still gets an axis of 0..1).
std::vector<double> ZeroBasedTicks(double max, int count) {
  return NiceTicks(0, max > 0 ? max : 1, count);
}

}  // namespace

std::string EscapeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7F) break;
        out += c;
    }
  }
  return out;
}

std::string FormatNumber(double value, int significant) {
  if (value == 0) return "0";
  return fmt::format("{:.{}g}", value, significant);
}

std::vector<double> NiceTicks(double lo, double hi, int count) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    throw std::invalid_argument(fmt::format("NiceTicks: bad range [{}, {}]", lo, hi));
  }
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double rough = (hi - lo) / std::max(count, 1);
  const double mag = std::pow(10, std::floor(std::log10(rough)));
  const double norm = rough / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  // The small tolerance keeps a bound that is already a multiple of the step (up to rounding) from
  // gaining an extra, empty tick.
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last; ++k) {
    const double t = k * step;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string HorizontalBarChart(const std::vector<Bar>& bars, const ChartOptions& o) {
  if (bars.empty()) throw std::invalid_argument("horizontal bar chart: no bars");
  double max = 0, label_w = 0, value_w = 0;
  for (const Bar& b : bars) {
    CheckValue(b.value, "horizontal bar chart", b.label);
    max = std::max(max, b.value);
    // Highlighted labels are bold, about a sixth wider than the estimate for regular text.
    label_w = std::max(label_w, TextWidth(Truncate(b.label, 32)) * (b.highlight ? 1.2 : 1.0));
    value_w = std::max(value_w, TextWidth(FormatNumber(b.value) + " " + b.annotation));
  }
  const std::vector<double> ticks = ZeroBasedTicks(max, 5);
  const double axis_max = ticks.back();
  const double row = 24, top = 8, left = std::min(label_w, 240.0) + 16;
  const double plot_w = std::max(120.0, o.width - left - value_w - 16);
  const double plot_h = row * static_cast<double>(bars.size());
  const double height = top + plot_h + 26 + (o.x_label.empty() ? 0 : 18);
  std::string s = Open(o.width, height, o.title);
  auto x_of = [&](double v) { return left + plot_w * v / axis_max; };
  for (double t : ticks) {
    s += fmt::format("<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{}\"/>\n", N(top),
                     N(top + plot_h), kGrid, fmt::arg("x", N(x_of(t))));
    s += Text(x_of(t), top + plot_h + 16, FormatNumber(t, 6), "middle",
              fmt::format("fill=\"{}\"", kMuted));
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = top + row * static_cast<double>(i);
    const double w = x_of(b.value) - left;
    const std::string value = FormatNumber(b.value) + (b.annotation.empty() ? "" : " " + b.annotation);
    s += fmt::format("<g class=\"bar{}\"><title>{}: {}</title>\n", b.highlight ? " hl" : "",
                     EscapeText(b.label), EscapeText(value));
    s += Text(left - 8, y + row / 2 + 4, Truncate(b.label, 32), "end",
              b.highlight ? "font-weight=\"bold\"" : "");
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", N(left),
                     N(y + 4), N(std::max(w, b.value > 0 ? 1.0 : 0.0)), N(row - 8),
                     b.highlight ? kAccent : kBlue);
    s += Text(left + w + 6, y + row / 2 + 4, value);
    s += "</g>\n";
  }
  s += fmt::format("<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{}\"/>\n", N(top),
                   N(top + plot_h), kMuted, fmt::arg("x", N(left)));
  if (!o.x_label.empty()) {
    s += Text(left + plot_w / 2, top + plot_h + 36, o.x_label, "middle",
              fmt::format("fill=\"{}\"", kMuted));
  }
  return s + "</svg>\n";
}

std::string BarChart(const std::vector<std::string>& series, const std::vector<BarGroup>& groups,
                     const ChartOptions& o) {
  if (series.empty()) throw std::invalid_argument("bar chart: no series");
  if (groups.empty()) throw std::invalid_argument("bar chart: no groups");
  double max = 0;
  for (const BarGroup& g : groups) {
    if (g.values.size() != series.size()) {
      throw std::invalid_argument(fmt::format("bar chart: group '{}' has {} values for {} series",
                                              g.label, g.values.size(), series.size()));
    }
    for (double v : g.values) CheckValue(v, "bar chart", g.label);
    for (double v : g.values) max = std::max(max, v);
  }
  const std::vector<double> ticks = ZeroBasedTicks(max, 5);
  const double axis_max = ticks.back();
  double tick_w = 0;
  for (double t : ticks) tick_w = std::max(tick_w, TextWidth(FormatNumber(t, 6)));
  const double left = tick_w + (o.y_label.empty() ? 14 : 34), right = 12;
  const double top = series.size() > 1 ? 34 : 14;
  const double plot_w = o.width - left - right;
  const double group_w = plot_w / static_cast<double>(groups.size());
  bool fits = true;
  double label_h = 0;
  for (const BarGroup& g : groups) fits = fits && TextWidth(g.label) <= group_w - 4;
  // Turned labels: their height is the projection of the longest one at 40 degrees.
  for (const BarGroup& g : groups) {
    label_h = std::max(label_h, fits ? 14 : TextWidth(Truncate(g.label, 20)) * 0.643 + 12);
  }
  const double plot_h = o.height;
  const double height = top + plot_h + 8 + label_h + (o.x_label.empty() ? 0 : 22);
  std::string s = Open(o.width, height, o.title);
  auto y_of = [&](double v) { return top + plot_h - plot_h * v / axis_max; };
  if (series.size() > 1) {
    double x = left;
    for (std::size_t k = 0; k < series.size(); ++k) {
      s += fmt::format("<rect x=\"{}\" y=\"10\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", N(x),
                       kSeries[k % std::size(kSeries)]);
      s += Text(x + 16, 20, series[k]);
      x += 16 + TextWidth(series[k]) + 18;
    }
  }
  for (double t : ticks) {
    s += fmt::format("<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\"/>\n", N(left),
                     N(left + plot_w), kGrid, fmt::arg("y", N(y_of(t))));
    s += Text(left - 6, y_of(t) + 4, FormatNumber(t, 6), "end",
              fmt::format("fill=\"{}\"", kMuted));
  }
  const double bar_w = group_w * 0.8 / static_cast<double>(series.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const BarGroup& g = groups[i];
    const double gx = left + group_w * static_cast<double>(i);
    s += fmt::format("<g class=\"group{}\">\n", g.highlight ? " hl" : "");
    if (g.highlight) {
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.13\"/>\n",
          N(gx + 1), N(top), N(group_w - 2), N(plot_h), kAccent);
    }
    for (std::size_t k = 0; k < series.size(); ++k) {
      const double v = g.values[k];
      const double x = gx + group_w * 0.1 + bar_w * static_cast<double>(k);
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}, {}: "
          "{}</title></rect>\n",
          N(x), N(y_of(v)), N(std::max(bar_w - 1, 1.0)), N(top + plot_h - y_of(v)),
          kSeries[k % std::size(kSeries)], EscapeText(g.label), EscapeText(series[k]),
          FormatNumber(v));
      if (bar_w >= TextWidth(FormatNumber(v, 3), 10) + 2) {
        s += Text(x + bar_w / 2, y_of(v) - 4, FormatNumber(v, 3), "middle", "font-size=\"10\"");
      }
    }
    const std::string weight = g.highlight ? "font-weight=\"bold\"" : "";
    const double cx = gx + group_w / 2, ly = top + plot_h + 16;
    if (fits) {
      s += Text(cx, ly, g.label, "middle", weight);
    } else {
      s += Text(cx, ly, Truncate(g.label, 20), "end",
                fmt::format("transform=\"rotate(-40 {} {})\" {}", N(cx), N(ly), weight));
    }
    s += "</g>\n";
  }
  s += fmt::format("<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\"/>\n", N(left),
                   N(left + plot_w), kMuted, fmt::arg("y", N(top + plot_h)));
  if (!o.y_label.empty()) {
    const double cy = top + plot_h / 2;
    s += Text(14, cy, o.y_label, "middle",
              fmt::format("transform=\"rotate(-90 14 {})\" fill=\"{}\"", N(cy), kMuted));
  }
  if (!o.x_label.empty()) {
    s += Text(left + plot_w / 2, height - 6, o.x_label, "middle",
              fmt::format("fill=\"{}\"", kMuted));
  }
  return s + "</svg>\n";
}

std::string DepthChart(const std::vector<DepthPoint>& points, const DepthChartOptions& o) {
  if (points.empty()) throw std::invalid_argument("depth chart: no points");
  double total = 0;
  for (const DepthPoint& p : points) {
    CheckValue(p.value, "depth chart", p.label);
    total += p.value;
  }
  const std::size_t n = points.size();
  const std::size_t per = std::max<std::size_t>(
      1, (n + std::max<std::size_t>(o.max_columns, 1) - 1) / std::max<std::size_t>(o.max_columns, 1));
  struct Column {
    std::size_t first = 0, last = 0, flagged = 0;
    double value = 0;
  };
  std::vector<Column> cols;
  for (std::size_t i = 0; i < n; i += per) {
    Column c;
    c.first = i;
    c.last = std::min(n, i + per) - 1;
    for (std::size_t j = c.first; j <= c.last; ++j) {
      c.value += points[j].value;
      c.flagged += points[j].flagged ? 1 : 0;
    }
    cols.push_back(c);
  }
  double max = 0;
  for (const Column& c : cols) max = std::max(max, c.value);
  const std::vector<double> ticks = ZeroBasedTicks(max, 5);
  const double axis_max = ticks.back();
  double tick_w = 0;
  for (double t : ticks) tick_w = std::max(tick_w, TextWidth(FormatNumber(t, 6)));
  const double left = tick_w + (o.y_label.empty() ? 14 : 34), right = 48, top = 34;
  const double plot_w = o.width - left - right, plot_h = o.height;
  const double col_w = plot_w / static_cast<double>(cols.size());
  const bool binned = per > 1;
  const double height = top + plot_h + 44 + (binned ? 16 : 0);
  std::string s = Open(o.width, height, o.title);
  auto y_of = [&](double v) { return top + plot_h - plot_h * v / axis_max; };
  auto y_pct = [&](double share) { return top + plot_h - plot_h * share; };
  // Legend: area, cumulative line, flag tick.
  s += fmt::format(
      "<rect x=\"{}\" y=\"10\" width=\"12\" height=\"12\" fill=\"{}\" fill-opacity=\"0.45\" "
      "stroke=\"{}\"/>\n",
      N(left), kBlue, kBlue);
  const std::string area_name = binned ? fmt::format("per {} operations", per) : "per operation";
  s += Text(left + 16, 20, area_name);
  double lx = left + 16 + TextWidth(area_name) + 18;
  s += fmt::format("<line x1=\"{}\" y1=\"16\" x2=\"{}\" y2=\"16\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                   N(lx), N(lx + 14), kAccent);
  s += Text(lx + 18, 20, "cumulative share (right axis)");
  lx += 18 + TextWidth("cumulative share (right axis)") + 18;
  bool any_flagged = false;
  for (const Column& c : cols) any_flagged = any_flagged || c.flagged > 0;
  if (any_flagged) {
    s += fmt::format("<rect x=\"{}\" y=\"10\" width=\"3\" height=\"12\" fill=\"{}\"/>\n", N(lx),
                     kFlag);
    s += Text(lx + 8, 20, "unmodelled (fallback)");
  }
  for (double t : ticks) {
    s += fmt::format("<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\"/>\n", N(left),
                     N(left + plot_w), kGrid, fmt::arg("y", N(y_of(t))));
    s += Text(left - 6, y_of(t) + 4, FormatNumber(t, 6), "end",
              fmt::format("fill=\"{}\"", kMuted));
  }
  for (int pct = 0; pct <= 100; pct += 25) {
    s += Text(left + plot_w + 6, y_pct(pct / 100.0) + 4, fmt::format("{}%", pct), "start",
              fmt::format("fill=\"{}\"", kAccent));
  }
  // Step area: flat over each column's width, so a column's area is proportional to its value.
  std::string area = fmt::format("M{},{}", N(left), N(y_of(0)));
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const double x0 = left + col_w * static_cast<double>(i);
    area += fmt::format(" L{},{} L{},{}", N(x0), N(y_of(cols[i].value)), N(x0 + col_w),
                        N(y_of(cols[i].value)));
  }
  area += fmt::format(" L{},{} Z", N(left + plot_w), N(y_of(0)));
  s += fmt::format("<path d=\"{}\" fill=\"{}\" fill-opacity=\"0.45\" stroke=\"{}\"/>\n", area,
                   kBlue, kBlue);
  std::string line = fmt::format("M{},{}", N(left), N(y_pct(0)));
  double cum = 0;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    cum += cols[i].value;
    line += fmt::format(" L{},{}", N(left + col_w * static_cast<double>(i + 1)),
                        N(y_pct(total > 0 ? cum / total : 0)));
  }
  s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", line,
                   kAccent);
  // Hover targets and flag ticks, one per column.
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const Column& c = cols[i];
    const double x0 = left + col_w * static_cast<double>(i);
    const std::string what =
        c.first == c.last
            ? fmt::format("#{} {}", c.first + 1, points[c.first].label)
            : fmt::format("#{}-{} ({} ... {})", c.first + 1, c.last + 1, points[c.first].label,
                          points[c.last].label);
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"transparent\"><title>{}: "
        "{}{}</title></rect>\n",
        N(x0), N(top), N(col_w), N(plot_h), EscapeText(what), FormatNumber(c.value),
        c.flagged ? fmt::format(", {} unmodelled", c.flagged) : "");
    if (c.flagged > 0) {
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"6\" fill=\"{}\"/>\n",
                       N(x0 + col_w / 2 - std::max(col_w * 0.3, 0.75)), N(top + plot_h + 2),
                       N(std::max(col_w * 0.6, 1.5)), kFlag);
    }
  }
  s += fmt::format("<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\"/>\n", N(left),
                   N(left + plot_w), kMuted, fmt::arg("y", N(top + plot_h)));
  // Operation numbers along x (1-based, as in the per-operation table).
  for (double t : NiceTicks(1, static_cast<double>(n), 8)) {
    if (t < 1 || t > static_cast<double>(n)) continue;
    const double x = left + plot_w * (t - 0.5) / static_cast<double>(n);
    s += Text(x, top + plot_h + 22, FormatNumber(t, 6), "middle",
              fmt::format("fill=\"{}\"", kMuted));
  }
  s += Text(left + plot_w / 2, top + plot_h + 38,
            o.x_label.empty() ? "operation, in forward order" : o.x_label, "middle",
            fmt::format("fill=\"{}\"", kMuted));
  if (binned) {
    s += Text(left + plot_w / 2, top + plot_h + 54,
              fmt::format("{} operations: each column sums {} consecutive ones", n, per),
              "middle", fmt::format("fill=\"{}\" font-style=\"italic\"", kMuted));
  }
  if (!o.y_label.empty()) {
    const double cy = top + plot_h / 2;
    s += Text(14, cy, o.y_label, "middle",
              fmt::format("transform=\"rotate(-90 14 {})\" fill=\"{}\"", N(cy), kMuted));
  }
  return s + "</svg>\n";
}

std::vector<bool> ParetoFront(const std::vector<ScatterPoint>& points) {
  std::vector<bool> front(points.size(), true);
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = 0; j < points.size() && front[i]; ++j) {
      const ScatterPoint &a = points[i], &b = points[j];
      const bool dominated = b.x <= a.x && b.y >= a.y && (b.x < a.x || b.y > a.y);
      if (dominated) front[i] = false;
    }
  }
  return front;
}

std::string ScatterChart(const std::vector<ScatterPoint>& points, const ScatterOptions& o) {
  if (points.empty()) throw std::invalid_argument("scatter chart: no points");
  for (const ScatterPoint& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
      throw std::invalid_argument(
          fmt::format("scatter chart: point '{}' has a coordinate that is not finite", p.label));
    }
    if (o.log_x && p.x <= 0) {
      throw std::invalid_argument(
          fmt::format("scatter chart: point '{}' has x = {} on a logarithmic axis", p.label, p.x));
    }
  }
  auto tx = [&](double x) { return o.log_x ? std::log10(x) : x; };
  double x_lo = tx(points[0].x), x_hi = x_lo, y_lo = points[0].y, y_hi = y_lo;
  for (const ScatterPoint& p : points) {
    x_lo = std::min(x_lo, tx(p.x));
    x_hi = std::max(x_hi, tx(p.x));
    y_lo = std::min(y_lo, p.y);
    y_hi = std::max(y_hi, p.y);
  }
  // Padding so that points (and their labels) do not sit on the frame.
  const double x_pad = x_hi > x_lo ? (x_hi - x_lo) * 0.08 : (o.log_x ? 0.3 : std::abs(x_lo) * 0.2 + 1e-12);
  const double y_pad = y_hi > y_lo ? (y_hi - y_lo) * 0.12 : std::abs(y_lo) * 0.05 + 0.01;
  x_lo -= x_pad;
  x_hi += x_pad;
  y_lo -= y_pad;
  y_hi += y_pad;
  const std::vector<double> y_ticks = NiceTicks(y_lo, y_hi, 5);
  std::vector<double> x_ticks;
  if (o.log_x) {
    // 1-2-5 per decade over short ranges, decades only over long ones.
    const bool dense = x_hi - x_lo < 2.5;
    for (double e = std::floor(x_lo); e <= std::ceil(x_hi); ++e) {
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !dense) continue;
        const double v = std::log10(m) + e;
        if (v >= x_lo && v <= x_hi) x_ticks.push_back(v);
      }
    }
  } else {
    for (double t : NiceTicks(x_lo, x_hi, 6)) {
      if (t >= x_lo && t <= x_hi) x_ticks.push_back(t);
    }
  }
  double tick_w = 0;
  for (double t : y_ticks) tick_w = std::max(tick_w, TextWidth(FormatNumber(t, 6)));
  const double left = tick_w + (o.y_label.empty() ? 14 : 34), right = 16, top = 34;
  const double plot_w = o.width - left - right, plot_h = o.height;
  const double ya = y_ticks.front(), yb = y_ticks.back();
  auto px = [&](double x) { return left + plot_w * (tx(x) - x_lo) / (x_hi - x_lo); };
  auto py = [&](double y) { return top + plot_h - plot_h * (y - ya) / (yb - ya); };

  const std::vector<bool> front = ParetoFront(points);
  // Label placement, greedy in the order given: boxes of the points and of placed labels are
  // obstacles; the first candidate position inside the plot that touches none wins.
  struct Box {
    double x0, y0, x1, y1;
    bool Hits(const Box& b) const { return x0 < b.x1 && b.x0 < x1 && y0 < b.y1 && b.y0 < y1; }
  };
  std::vector<Box> taken;
  for (const ScatterPoint& p : points) {
    taken.push_back({px(p.x) - 6, py(p.y) - 6, px(p.x) + 6, py(p.y) + 6});
  }
  struct Placed {
    double x, y;
    const char* anchor;
    std::string text;
    bool numbered;
  };
  std::vector<Placed> labels;
  std::vector<std::size_t> keyed;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const double x = px(points[i].x), y = py(points[i].y);
    const std::string text = Truncate(points[i].label, 28);
    const double w = TextWidth(text), h = kFontSize + 2;
    struct Candidate {
      double tx, ty;
      const char* anchor;
      Box box;
    };
    const Candidate cands[] = {
        {x + 9, y + 4, "start", {x + 8, y - h / 2, x + 9 + w, y + h / 2}},
        {x - 9, y + 4, "end", {x - 9 - w, y - h / 2, x - 8, y + h / 2}},
        {x, y - 10, "middle", {x - w / 2, y - 9 - h, x + w / 2, y - 8}},
        {x, y + 20, "middle", {x - w / 2, y + 8, x + w / 2, y + 9 + h}},
    };
    bool placed = false;
    for (const Candidate& c : cands) {
      const bool inside = c.box.x0 >= left && c.box.x1 <= left + plot_w && c.box.y0 >= top &&
                          c.box.y1 <= top + plot_h;
      bool clear = inside;
      for (std::size_t k = 0; k < taken.size() && clear; ++k) {
        if (k != i && taken[k].Hits(c.box)) clear = false;
      }
      if (clear) {
        labels.push_back({c.tx, c.ty, c.anchor, text, false});
        taken.push_back(c.box);
        placed = true;
        break;
      }
    }
    if (!placed) {
      keyed.push_back(i);
      labels.push_back({x + 7, y - 5, "start", std::to_string(i + 1), true});
    }
  }
  const double key_h = keyed.empty() ? 0 : 18.0 * std::ceil(keyed.size() / 3.0) + 6;
  const double height = top + plot_h + 44 + key_h;
  std::string s = Open(o.width, height, o.title);
  // Legend.
  s += fmt::format("<circle cx=\"{}\" cy=\"16\" r=\"5\" fill=\"{}\"/>\n", N(left + 6), kAccent);
  s += Text(left + 16, 20, "Pareto front (no other is cheaper and at least as accurate)");
  const double lx = left + 16 + TextWidth("Pareto front (no other is cheaper and at least as accurate)") + 20;
  s += fmt::format(
      "<circle cx=\"{}\" cy=\"16\" r=\"4.5\" fill=\"white\" stroke=\"{}\" stroke-width=\"2\"/>\n",
      N(lx), kBlue);
  s += Text(lx + 10, 20, "dominated");
  for (double t : y_ticks) {
    s += fmt::format("<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\"/>\n", N(left),
                     N(left + plot_w), kGrid, fmt::arg("y", N(py(t))));
    s += Text(left - 6, py(t) + 4, FormatNumber(t, 6), "end", fmt::format("fill=\"{}\"", kMuted));
  }
  for (double t : x_ticks) {
    const double x = left + plot_w * (t - x_lo) / (x_hi - x_lo);
    const double v = o.log_x ? std::pow(10, t) : t;
    s += fmt::format("<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{}\"/>\n", N(top),
                     N(top + plot_h), kGrid, fmt::arg("x", N(x)));
    s += Text(x, top + plot_h + 16, FormatNumber(v, 6), "middle",
              fmt::format("fill=\"{}\"", kMuted));
  }
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>\n",
      N(left), N(top), N(plot_w), N(plot_h), kMuted);
  // The front as a staircase: from each front point, the region it attains extends to the right
  // until the next (more accurate, costlier) front point takes over.
  std::vector<std::size_t> f;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (front[i]) f.push_back(i);
  }
  std::sort(f.begin(), f.end(), [&](std::size_t a, std::size_t b) {
    return points[a].x != points[b].x ? points[a].x < points[b].x : points[a].y < points[b].y;
  });
  if (f.size() > 1) {
    std::string d = fmt::format("M{},{}", N(px(points[f[0]].x)), N(py(points[f[0]].y)));
    for (std::size_t k = 1; k < f.size(); ++k) {
      d += fmt::format(" L{},{} L{},{}", N(px(points[f[k]].x)), N(py(points[f[k - 1]].y)),
                       N(px(points[f[k]].x)), N(py(points[f[k]].y)));
    }
    s += fmt::format(
        "<path class=\"front\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
        "stroke-dasharray=\"5 3\"/>\n",
        d, kAccent);
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const ScatterPoint& p = points[i];
    const std::string tip = fmt::format("{}: x {}, y {}{}", p.label, FormatNumber(p.x),
                                        FormatNumber(p.y), front[i] ? " (Pareto front)" : "");
    if (front[i]) {
      s += fmt::format(
          "<circle class=\"point front\" cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"><title>{}</title>"
          "</circle>\n",
          N(px(p.x)), N(py(p.y)), kAccent, EscapeText(tip));
    } else {
      s += fmt::format(
          "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"white\" stroke=\"{}\" "
          "stroke-width=\"2\"><title>{}</title></circle>\n",
          N(px(p.x)), N(py(p.y)), kBlue, EscapeText(tip));
    }
  }
  for (const Placed& l : labels) {
    s += Text(l.x, l.y, l.text, l.anchor, l.numbered ? "font-size=\"10\" font-weight=\"bold\"" : "");
  }
  if (!o.x_label.empty()) {
    s += Text(left + plot_w / 2, top + plot_h + 36, o.x_label, "middle",
              fmt::format("fill=\"{}\"", kMuted));
  }
  if (!o.y_label.empty()) {
    const double cy = top + plot_h / 2;
    s += Text(14, cy, o.y_label, "middle",
              fmt::format("transform=\"rotate(-90 14 {})\" fill=\"{}\"", N(cy), kMuted));
  }
  for (std::size_t k = 0; k < keyed.size(); ++k) {
    const double col = static_cast<double>(k % 3), rowi = std::floor(k / 3.0);
    s += Text(left + col * plot_w / 3, top + plot_h + 60 + 18 * rowi,
              fmt::format("{}: {}", keyed[k] + 1, Truncate(points[keyed[k]].label, 36)));
  }
  return s + "</svg>\n";
}

}  // namespace joulecast::report
