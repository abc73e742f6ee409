// Slurm logs of the getzner2023 collection runs (`import codecarbon --slurm-log`, io/slurm_log.h).
// What reads must name its sections on one line, and every section must be found again by its own
// name.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "joulecast/io/slurm_log.h"

using namespace joulecast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::Guard(text, [&] {
    const SlurmLog log = ReadSlurmLog(fuzz::ScratchFile(text));
    for (const SlurmSection& s : log.sections) {
      if (s.name.find_first_of("\r\n") != std::string::npos) fuzz::Fail("multi-line section name");
      // Each error line spoils one row or one configuration.
      if (s.bad_rows.size() + s.bad_configs.size() > s.error_lines)
        fuzz::Fail("more spoilt rows and configurations than error lines in " + s.name);
      // The lookup the importer does with the CSV's module name.
      fuzz::Guard(text, [&] { (void)log.SectionFor(s.name); });
    }
  });
  return 0;
}
