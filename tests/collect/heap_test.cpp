// The heap policy (collect/heap.h), checked against glibc's own accounting (mallinfo2): under
// kKeep a 20 MiB block comes from the heap and stays mapped after free; glibc's default serves it
// with mmap (above its initial 128 KiB threshold) and unmaps it on free. Under kKeep a block past
// glibc's largest mmap threshold is mapped on its own when the heap cannot serve it, and a large
// tensor allocated again and again lands on fresh pages (page faults counted by getrusage); under
// kReserve it lands on pages touched once beforehand.
#include "joulecast/collect/heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/resource.h>
#endif

namespace joulecast {
namespace {

TEST(HeapPolicy, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(ParseHeapPolicy("keep"), HeapPolicy::kKeep);
  EXPECT_EQ(ParseHeapPolicy("default"), HeapPolicy::kDefault);
  EXPECT_STREQ(HeapPolicyName(HeapPolicy::kKeep), "keep");
  EXPECT_STREQ(HeapPolicyName(HeapPolicy::kDefault), "default");
  EXPECT_EQ(ParseHeapPolicy("reserve"), HeapPolicy::kReserve);
  EXPECT_STREQ(HeapPolicyName(HeapPolicy::kReserve), "reserve");
  try {
    ParseHeapPolicy("jemalloc");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--heap: expected keep, reserve or default, got 'jemalloc'");
  }
}

#if defined(__GLIBC__)
long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// One process: the default policy is observed first, then kKeep, then kReserve (a policy cannot
// be undone).
TEST(HeapPolicy, KeepServesBlocksFromTheHeapAndReserveTouchesTheirPagesFirst) {
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

  // Past the largest mmap threshold, kKeep still maps a block of its own, unless the heap's free
  // space serves it: ask for more than is free.
  const std::size_t big = mallinfo2().fordblks + (64u << 20);
  {
    const std::size_t before = mallinfo2().hblkhd;
    void* q = std::malloc(big);
    ASSERT_NE(q, nullptr);
    EXPECT_GE(mallinfo2().hblkhd, before + big);
    std::free(q);
  }
  // A large tensor allocated, written and freed again and again as PyTorch does (posix_memalign
  // to 64 bytes): under kKeep it lands on fresh pages for several rounds (the freed block does not
  // merge back while glibc's tcache holds the alignment's slivers); under kReserve on pages the
  // reserve touched. 32x96x112x112 floats: EfficientNet-B0's first activation at batch 32.
  constexpr std::size_t kTensor = std::size_t{32} * 96 * 112 * 112 * 4;
  const long pages = static_cast<long>(kTensor / 4096);
  const auto most_faults_of_ten_rounds = [&] {
    long most = 0;
    for (int round = 0; round < 10; ++round) {
      void* t = nullptr;
      EXPECT_EQ(posix_memalign(&t, 64, kTensor), 0);
      const long before = MinorFaults();
      TouchEachPage(t, kTensor);
      most = std::max(most, MinorFaults() - before);
      std::free(t);
    }
    return most;
  };
  EXPECT_GT(most_faults_of_ten_rounds(), pages / 2);  // kKeep

  ApplyHeapPolicy(HeapPolicy::kReserve);
  EXPECT_GE(mallinfo2().fordblks, ReserveBytes());  // the reserve, free for later blocks
  const std::size_t mapped1 = mallinfo2().hblkhd;
  EXPECT_LT(most_faults_of_ten_rounds(), pages / 100);
  EXPECT_EQ(mallinfo2().hblkhd, mapped1);  // nothing mapped on its own
  // Applied again (calibrate applies it per configuration), the reserve stays as it is: neither
  // given back nor touched again.
  const long before = MinorFaults();
  ApplyHeapPolicy(HeapPolicy::kReserve);
  EXPECT_LT(MinorFaults() - before, pages / 100);
  EXPECT_GE(mallinfo2().fordblks, ReserveBytes());
}
#endif

}  // namespace
}  // namespace joulecast
