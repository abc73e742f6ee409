// How the C library's heap treats freed memory while a measurement runs.
//
// PyTorch's CPU tensors come from malloc. glibc by default returns memory to the kernel as it is
// freed: blocks of at least the mmap threshold (128 KiB at first, raised to the largest block
// freed so far, up to 32 MiB) are unmapped on free, and the top of the heap is trimmed once more
// than the trim threshold (twice the mmap threshold) lies free there. The next allocation then
// touches fresh pages, and each first touch costs the kernel a page fault (FreshPageMicroseconds
// in collector.h: 10-17 us per 4 KiB page on this project's virtual machines, under 1 us on bare
// metal). Whether a tensor lands on fresh pages depends on the heap's history, not on the
// operator, so a whole network's time under the default policy moves from run to run.
//
// HeapPolicy::kKeep (the collector's default): mallopt(M_MMAP_THRESHOLD, 32 MiB) (glibc's largest,
// and fixed, so freed blocks no longer move it), mallopt(M_TRIM_THRESHOLD, INT_MAX) (freed memory
// stays mapped for reuse) and mallopt(M_TOP_PAD, 1 GiB) (the heap grows in large steps): what
// MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=... MALLOC_TOP_PAD_=1073741824 do for a
// whole process, and close to what jemalloc and tcmalloc do. Blocks of 32 MiB and more are still
// mapped afresh on every allocation (glibc has no larger threshold), unless the heap holds free
// space enough to serve them: a network's heap has grown by the time its large activations come,
// an operator measured alone has not, so alone it pays page faults the network does not.
// HeapPolicy::kReserve: kKeep, and the heap grown before measuring to a reserve whose pages are
// touched once (ReserveBytes(): 1.5 GiB, at most a quarter of physical memory), with
// mallopt(M_MMAP_MAX, 0) so that no block is mapped on its own and M_TOP_PAD 64 MiB so that the
// free reserve stays under the trim threshold (an int: glibc still trims more than 2 GiB free at
// the top). Every block, large ones included, then comes from pages already touched while it fits
// in the reserve. Why it matters: PyTorch allocates with posix_memalign, whose leftover slivers
// (held in glibc's tcache) keep a freed large block from merging back, so the same large tensor
// allocated again in a loop lands on fresh heap pages for about eight runs; a network's heap has
// long grown past that when its large activations come, an operator measured alone's has not.
// Touching the reserve costs about ReserveBytes / 4 KiB page faults once per process (5 s here).
// HeapPolicy::kDefault leaves glibc's dynamic thresholds alone (records made before the policy
// existed were measured so).
//
// The policy is process-wide and cannot be undone once applied; applying it again is cheap (the
// reserve is grown on the first call only).
#pragma once

#include <cstddef>
#include <string>

namespace joulecast {

enum class HeapPolicy { kKeep, kReserve, kDefault };

// "keep", "reserve" or "default"; throws std::invalid_argument naming the value otherwise.
HeapPolicy ParseHeapPolicy(const std::string& name);
const char* HeapPolicyName(HeapPolicy policy);

// False in an AddressSanitizer build, whose allocator replaces malloc: there kKeep and kReserve
// change nothing (ApplyHeapPolicy returns without a setting).
bool KeepPolicyTakesEffect();

// Applies `policy` to this process's malloc. kDefault does nothing, and so do the others in an
// AddressSanitizer build (its allocator replaces malloc). kKeep and kReserve throw
// std::runtime_error where the C library is not glibc or refuses a setting.
void ApplyHeapPolicy(HeapPolicy policy);

// The bytes kReserve grows the heap to: min(1.5 GiB, physical memory / 4).
std::size_t ReserveBytes();

// Writes one byte into every page of [p, p + bytes), so that the kernel backs each (a page fault
// per page not yet backed). Returns the number of pages written; 0 where the page size is unknown.
std::size_t TouchEachPage(void* p, std::size_t bytes);

}  // namespace joulecast
