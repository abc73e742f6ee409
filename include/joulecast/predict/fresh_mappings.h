// The activations that glibc's default malloc maps afresh on every run of a network.
//
// glibc serves a request of at least its mmap threshold with a new mapping when the top of its
// heap cannot, and unmaps that block when it is freed. The threshold rises to the largest such
// block freed so far, but never above 32 MiB on a 64-bit system (DEFAULT_MMAP_THRESHOLD_MAX,
// 4 MiB x sizeof(long)), and the heap's top is trimmed once more than twice the threshold lies
// free there, so it cannot hold them either. Every activation of 32 MiB or more is then mapped,
// first touched page by page (a page fault per 4 KiB page, the kernel zeroing each) and unmapped
// on every run. CPU time profiles are measured on a heap that keeps its memory (collect/heap.h:
// calibrate's reserve policy; collect's keep) and predict none of that cost; jemalloc, tcmalloc,
// or glibc with MALLOC_MMAP_MAX_=0 and a large MALLOC_TRIM_THRESHOLD_ keep freed memory too.
//
// The count is an estimate from the graph: each output of a node whose operator is not a view
// (graph::CostClass::kView), at its shape and dtype. In-place operators (ReLU(inplace=True))
// allocate nothing in PyTorch, and kernels' scratch (oneDNN's reordered copies of a
// convolution's input and output) is not in the graph, so the real figure may lie either side.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "joulecast/graph/graph.h"

namespace joulecast {

// glibc's largest mmap threshold on a 64-bit system, bytes.
constexpr double kGlibcMmapThresholdMaxBytes = 32.0 * 1024 * 1024;
constexpr double kPageBytes = 4096;

struct FreshMappings {
  std::size_t tensors = 0;  // activations of at least kGlibcMmapThresholdMaxBytes
  double bytes = 0;         // their sum: bytes mapped afresh per run
  double pages() const { return bytes / kPageBytes; }
  std::string largest;  // NodeLabel of the node with the largest such output ("" when none)
  double largest_bytes = 0;

  // {"tensors", "bytes", "pages", "largest", "largest_bytes"}
  nlohmann::json ToJson() const;
};

// Counts over `g`, whose shapes must be inferred (graph/shape_pass.h); a value without a shape
// counts 0 bytes. Floating-point values count at the size of `run_dtype`, the dtype the network
// runs in (predict --dtype: the graph's activations are float32 whatever the run's).
FreshMappings CountFreshMappings(const graph::Graph& g,
                                 graph::DType run_dtype = graph::DType::kFloat32);

// The seconds those pages cost at `page_us` microseconds per fresh page (a first touch in a tight
// loop, collect/collector.h FreshPageMicroseconds: a lower bound, since a fault inside a kernel
// also costs the kernel its caches). Throws std::invalid_argument when page_us is negative or not
// finite.
double FreshMappingSeconds(const FreshMappings& f, double page_us);

// predict's one-line note (no "joulecast: " prefix) for a network of `name` at `batch` whose
// prediction is `total_s` seconds per run: nullopt when no activation reaches the threshold, or
// when both total_s and page_us are positive and the pages cost less than 1 % of total_s.
// page_us <= 0 (not measured) leaves the time out; total_s <= 0 (an energy profile) the share.
std::optional<std::string> FreshMappingNote(const FreshMappings& f, const std::string& name,
                                            std::int64_t batch, double total_s, double page_us);

// compare's one-line note over several networks (name, its mappings), in that order: nullopt when
// none of them has such an activation.
std::optional<std::string> FreshMappingListNote(
    const std::vector<std::pair<std::string, FreshMappings>>& networks);

}  // namespace joulecast
