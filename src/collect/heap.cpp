#include "joulecast/collect/heap.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JOULECAST_SANITIZED_HEAP 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define JOULECAST_SANITIZED_HEAP 1
#endif

namespace joulecast {

HeapPolicy ParseHeapPolicy(const std::string& name) {
  if (name == "keep") return HeapPolicy::kKeep;
  if (name == "reserve") return HeapPolicy::kReserve;
  if (name == "default") return HeapPolicy::kDefault;
  throw std::invalid_argument("--heap: expected keep, reserve or default, got '" + name + "'");
}

const char* HeapPolicyName(HeapPolicy policy) {
  switch (policy) {
    case HeapPolicy::kKeep:
      return "keep";
    case HeapPolicy::kReserve:
      return "reserve";
    case HeapPolicy::kDefault:
      break;
  }
  return "default";
}

bool KeepPolicyTakesEffect() {
#if defined(JOULECAST_SANITIZED_HEAP)
  return false;
#else
  return true;
#endif
}

void ApplyHeapPolicy(HeapPolicy policy) {
  // The sanitizer's allocator replaces malloc (its mallopt does nothing) and keeps freed memory
  // in quarantine: nothing to set, and no timing from such a build is meant to be used.
  if (policy == HeapPolicy::kDefault || !KeepPolicyTakesEffect()) return;
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 32 << 20;  // glibc's HEAP_MAX_SIZE / 2 on 64-bit: its maximum
  const bool reserve = policy == HeapPolicy::kReserve;
  // Under kReserve a smaller pad keeps the reserve plus the pad under the 2 GiB trim threshold.
  const int top_pad = reserve ? 64 << 20 : 1 << 30;
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, INT_MAX) != 1 ||
      mallopt(M_TOP_PAD, top_pad) != 1 || (reserve && mallopt(M_MMAP_MAX, 0) != 1)) {
    throw std::runtime_error(std::string("--heap ") + HeapPolicyName(policy) +
                             ": glibc's mallopt refused a setting; use --heap default");
  }
  // Callers apply the policy before each run of measurements (calibrate: one per configuration);
  // the reserve is grown once per process, as trimming and touching it again would cost seconds.
  static bool reserved = false;
  if (reserve && !reserved) {
    reserved = true;
    // Free space at the top that an earlier policy padded the heap with was never touched, and
    // with the reserve on top of it the top could pass the trim threshold: start from a bare top.
    malloc_trim(0);
    const std::size_t bytes = ReserveBytes();
    void* block = std::malloc(bytes);
    if (block == nullptr) {
      throw std::runtime_error("--heap reserve: could not grow the heap by " +
                               std::to_string(bytes >> 20) + " MiB; use --heap keep");
    }
    // Freed, the touched block joins the heap's top, which is not trimmed, so later blocks land
    // on these pages.
    TouchEachPage(block, bytes);
    std::free(block);
  }
#else
  throw std::runtime_error(
      std::string("--heap ") + HeapPolicyName(policy) +
      ": needs glibc's mallopt, which this C library lacks; use --heap default");
#endif
}

std::size_t ReserveBytes() {
  constexpr std::size_t kMost = std::size_t{3} << 29;  // 1.5 GiB
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return kMost;
  return std::min(kMost, static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4);
}

std::size_t TouchEachPage(void* p, std::size_t bytes) {
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return 0;
  // volatile: the writes are the point, the compiler must not drop them.
  volatile char* b = static_cast<volatile char*>(p);
  std::size_t pages = 0;
  for (std::size_t i = 0; i < bytes; i += static_cast<std::size_t>(page), ++pages) b[i] = 1;
  return pages;
}

}  // namespace joulecast
