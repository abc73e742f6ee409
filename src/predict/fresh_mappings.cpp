#include "joulecast/predict/fresh_mappings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <stdexcept>

#include "joulecast/graph/op_schema.h"

namespace joulecast {

nlohmann::json FreshMappings::ToJson() const {
  return {{"tensors", tensors},
          {"bytes", bytes},
          {"pages", pages()},
          {"largest", largest},
          {"largest_bytes", largest_bytes}};
}

FreshMappings CountFreshMappings(const graph::Graph& g, graph::DType run_dtype) {
  FreshMappings f;
  for (const graph::Node& node : g.nodes()) {
    if (node.schema->cost == graph::CostClass::kView) continue;
    for (graph::ValueId v : node.outputs) {
      const graph::TensorType& t = g.value(v).type;
      if (t.dims.empty()) continue;
      const double bytes =
          t.elements() * graph::DTypeBytes(graph::IsFloating(t.dtype) ? run_dtype : t.dtype);
      if (bytes < kGlibcMmapThresholdMaxBytes) continue;
      ++f.tensors;
      f.bytes += bytes;
      if (bytes > f.largest_bytes) {
        f.largest_bytes = bytes;
        f.largest = graph::NodeLabel(node);
      }
    }
  }
  return f;
}

double FreshMappingSeconds(const FreshMappings& f, double page_us) {
  if (!std::isfinite(page_us) || page_us < 0) {
    throw std::invalid_argument(
        fmt::format("fresh-page cost must be finite and >= 0 microseconds, got {}", page_us));
  }
  return f.pages() * page_us * 1e-6;
}

std::optional<std::string> FreshMappingNote(const FreshMappings& f, const std::string& name,
                                            std::int64_t batch, double total_s, double page_us) {
  if (f.tensors == 0) return std::nullopt;
  const bool timed = std::isfinite(page_us) && page_us > 0;
  const double s = timed ? FreshMappingSeconds(f, page_us) : 0;
  const bool share = timed && std::isfinite(total_s) && total_s > 0;
  // Below 1 % the note would be noise next to the prediction's own error.
  if (share && s < 0.01 * total_s) return std::nullopt;
  std::string cost;
  if (timed) {
    cost = fmt::format("; at this machine's {:.2g} us a fresh page that is at least {:.3g} s a run",
                       page_us, s);
    if (share) cost += fmt::format(" ({:.0f} % of the prediction)", 100 * s / total_s);
  }
  return fmt::format(
      "{} at batch {} has {} activation{} of 32 MiB or more ({:.3g} GiB a run, the largest {:.3g} "
      "MiB at {}), which glibc's default malloc maps afresh on every run, a page fault per 4 KiB; "
      "the prediction holds none of it (it assumes a heap that keeps freed memory: jemalloc, "
      "tcmalloc, or MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647){}",
      name, batch, f.tensors, f.tensors == 1 ? "" : "s", f.bytes / (1024.0 * 1024 * 1024),
      f.largest_bytes / (1024.0 * 1024), f.largest, cost);
}

std::optional<std::string> FreshMappingListNote(
    const std::vector<std::pair<std::string, FreshMappings>>& networks) {
  std::vector<std::string> mapped;
  for (const auto& [name, f] : networks) {
    if (f.tensors > 0)
      mapped.push_back(
          fmt::format("{} ({:.3g} GiB a run)", name, f.bytes / (1024.0 * 1024 * 1024)));
  }
  if (mapped.empty()) return std::nullopt;
  return fmt::format(
      "{} {} activations of 32 MiB or more, which glibc's default malloc maps afresh on every run; "
      "the predictions hold none of it (joulecast predict NAME says more)",
      fmt::join(mapped, ", "), mapped.size() == 1 ? "has" : "have");
}

}  // namespace joulecast
