// A small SVG writer for the HTML reports (report/html_report.h): four chart kinds drawn as inline
// <svg> elements with presentation attributes only (no scripts, fonts, images or links), so a page
// stays one self-contained file that renders the same in any browser or offline.
//
// Every chart takes plain numbers in whatever unit the caller chose (the caller also names it in
// the axis captions) and escapes every piece of text it writes. Hovering a bar, column or point
// shows its exact value (an SVG <title>). Sizes are in CSS pixels; charts scale down with the page
// (viewBox) when it is narrower.
//
// Errors: std::invalid_argument for no data, or a value that is negative, NaN or infinite where
// the chart needs it finite and >= 0 (the message names the chart and the label).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace joulecast::report {

// Text for HTML or SVG content and attribute values: & < > " ' become entities and control
// characters other than tab and newline are dropped (XML forbids them; they only come from corrupt
// names). UTF-8 is passed through.
std::string EscapeText(std::string_view text);

// A value with `significant` significant digits ("{:.4g}"), "0" for zero.
std::string FormatNumber(double value, int significant = 4);

// About `count` round tick values (1, 2 or 5 × 10^k apart) from at most `lo` to at least `hi`;
// lo == hi widens the range. Throws std::invalid_argument when lo > hi or either is not finite.
std::vector<double> NiceTicks(double lo, double hi, int count);

struct ChartOptions {
  std::string title;    // the chart's accessible name (<title>, aria-label)
  std::string x_label;  // caption under the x axis (with the unit), may be empty
  std::string y_label;  // caption beside the y axis (with the unit), may be empty
  double width = 760;
  double height = 320;  // plot and axes; HorizontalBarChart's height follows its rows instead
};

struct Bar {
  std::string label;
  double value = 0;
  std::string annotation;  // printed after the value, e.g. "(2.3×)"
  bool highlight = false;  // drawn in the accent colour (the cheapest, an unmodelled type)
};

// One row per bar, in the given order: the label on the left (cut to 32 characters with "…"; the
// full label is in the tooltip), a bar from 0 proportional to the value, and the value (4
// significant digits) plus annotation at its end; a value axis with grid lines below. Height is
// 24 px per row plus the axis, so 20 or 200 rows stay legible.
std::string HorizontalBarChart(const std::vector<Bar>& bars, const ChartOptions& options);

struct BarGroup {
  std::string label;
  std::vector<double> values;  // one per series
  bool highlight = false;      // shaded background and bold label (e.g. the cheapest setting)
};

// Vertical bars grouped by category (x) with one bar per series in each group, a value axis from
// 0 on the left, a legend when there are two or more series, and category labels under the
// groups (turned 40° and cut to 20 characters when they do not fit side by side). Values are
// printed over the bars when the bars are wide enough. Throws std::invalid_argument when a group
// has a different number of values than there are series, or there are no groups or series.
std::string BarChart(const std::vector<std::string>& series, const std::vector<BarGroup>& groups,
                     const ChartOptions& options);

struct DepthPoint {
  std::string label;     // the operation's name and type, shown in the tooltip
  double value = 0;      // its cost
  bool flagged = false;  // e.g. costed by a fallback rather than a fitted model
};

struct DepthChartOptions : ChartOptions {
  // More points than this are summed into equal runs of ceil(n / max_columns) consecutive points,
  // so that a 500-operation network keeps columns a few pixels wide.
  std::size_t max_columns = 160;
};

// Cost along the depth of a network: a step area of each point's (or run's) value in forward order
// on the left axis, the cumulative share of the total (0-100 %) as a line on the right axis, and a
// red tick under the x axis at every column holding a flagged point. The caption says how many
// points each column sums when they are binned. Throws std::invalid_argument for no points or a
// value < 0 or not finite.
std::string DepthChart(const std::vector<DepthPoint>& points, const DepthChartOptions& options);

struct ScatterPoint {
  std::string label;
  double x = 0;  // cost: lower is better
  double y = 0;  // quality: higher is better
};

// For each point, whether it is on the Pareto front: no other point has x <= its x and y >= its y
// with at least one strictly better. Equal points are all on the front.
std::vector<bool> ParetoFront(const std::vector<ScatterPoint>& points);

struct ScatterOptions : ChartOptions {
  bool log_x = false;  // logarithmic x axis (every x must then be > 0)
};

// Points with their labels placed beside them without overlap (right, left, above or below; a
// point whose label fits nowhere gets its number, and the key under the chart names it), the
// Pareto front (ParetoFront) drawn as filled accent points joined by a staircase line, the others
// as hollow circles. Throws std::invalid_argument for no points, a coordinate that is not finite,
// or x <= 0 with log_x.
std::string ScatterChart(const std::vector<ScatterPoint>& points, const ScatterOptions& options);

}  // namespace joulecast::report
