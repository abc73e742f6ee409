// The --shard K/N argument: ParseShard accepts only 0 <= K < N < 2^31, and prints back what it
// parsed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/collect/shard.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const Shard s = ParseShard(text);
    if (s.count < 1 || s.index < 0 || s.index >= s.count || s.count > (std::int64_t{1} << 31))
      fuzz::Fail("shard out of range accepted: " + s.ToString());
    const Shard back = ParseShard(s.ToString());
    if (back.index != s.index || back.count != s.count) fuzz::Fail("round trip differs");
    if (!s.Owns(s.index) || s.Owns(s.index + s.count + (s.count > 1 ? 1 : 0)) != (s.count == 1))
      fuzz::Fail("Owns disagrees with i mod N");
  });
  return 0;
}
