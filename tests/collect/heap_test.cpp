// The heap policy (collect/heap.h), checked against glibc's own accounting (mallinfo2): under
// kKeep a 20 MiB block comes from the heap and stays mapped after free; glibc's default serves it
// with mmap (above its initial 128 KiB threshold) and unmaps it on free.
#include "joulecast/collect/heap.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace joulecast {
namespace {

TEST(HeapPolicy, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(ParseHeapPolicy("keep"), HeapPolicy::kKeep);
  EXPECT_EQ(ParseHeapPolicy("default"), HeapPolicy::kDefault);
  EXPECT_STREQ(HeapPolicyName(HeapPolicy::kKeep), "keep");
  EXPECT_STREQ(HeapPolicyName(HeapPolicy::kDefault), "default");
  try {
    ParseHeapPolicy("jemalloc");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--heap: expected keep or default, got 'jemalloc'");
  }
}

#if defined(__GLIBC__)
// One process: the default policy is observed first, then kKeep is applied (it cannot be undone).
TEST(HeapPolicy, KeepServesLargeBlocksFromTheHeapAndKeepsThemMapped) {
  // Not under AddressSanitizer: its allocator replaces glibc's, and ApplyHeapPolicy leaves it
  // alone.
  if (!KeepPolicyTakesEffect()) GTEST_SKIP() << "AddressSanitizer's allocator replaces glibc's";
  constexpr std::size_t kBytes = 20u << 20;
  ApplyHeapPolicy(HeapPolicy::kDefault);
  {
    const std::size_t mapped0 = mallinfo2().hblkhd;
    void* p = std::malloc(kBytes);
    ASSERT_NE(p, nullptr);
    // glibc's default: mmap for a first block this large (the threshold rises only after a free).
    EXPECT_GE(mallinfo2().hblkhd, mapped0 + kBytes);
    std::free(p);
    EXPECT_LT(mallinfo2().hblkhd, mapped0 + kBytes);
  }
  ApplyHeapPolicy(HeapPolicy::kKeep);
  const std::size_t mapped0 = mallinfo2().hblkhd;
  void* p = std::malloc(kBytes);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, kBytes);
  EXPECT_LT(mallinfo2().hblkhd, mapped0 + kBytes);  // not an mmap of its own
  const std::size_t arena_in_use = mallinfo2().arena;
  EXPECT_GE(arena_in_use, kBytes);
  std::free(p);
  // Freed, its pages stay in the heap (no trim) for the next allocation.
  EXPECT_GE(mallinfo2().arena, arena_in_use);
  EXPECT_GE(mallinfo2().fordblks, kBytes);
}
#endif

}  // namespace
}  // namespace joulecast
