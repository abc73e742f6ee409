#include "joulecast/collect/heap.h"

#include <climits>
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
  if (name == "default") return HeapPolicy::kDefault;
  throw std::invalid_argument("--heap: expected keep or default, got '" + name + "'");
}

const char* HeapPolicyName(HeapPolicy policy) {
  return policy == HeapPolicy::kKeep ? "keep" : "default";
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
  constexpr int kTopPad = 1 << 30;
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, INT_MAX) != 1 ||
      mallopt(M_TOP_PAD, kTopPad) != 1) {
    throw std::runtime_error("--heap keep: glibc's mallopt refused a setting; use --heap default");
  }
#else
  throw std::runtime_error(
      "--heap keep: needs glibc's mallopt, which this C library lacks; use --heap default");
#endif
}

}  // namespace joulecast
