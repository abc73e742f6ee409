// Which machine a profile describes, and whether it is this one (issue 21).
//
// A HardwareFingerprint is the normalised description of the machine that measurements were taken
// on: the CPU model string (trimmed, runs of white space collapsed), the ISA extensions that matter
// to deep-learning kernels (kIsaFlags, sorted), the logical CPU count, the threads the measured
// runs used, the libtorch version and BLAS library, and for GPU measurements the GPU and driver;
// and the CPU's identity where cpuinfo gives one ("family F model M stepping S" on x86,
// "implementer I part P variant V revision R" on arm64), since a model string such as a virtual
// machine's "AMD EPYC" names several generations. Its JSON form (ToJson) has the keys "cpu",
// "cpu_id", "isa_flags", "logical_cpus", "threads", "libtorch", "blas", "gpu", "driver"; a key
// whose value is unknown (empty string, empty list, count 0) is left out. Profiles (profile.h)
// carry these keys in their "hardware" object, beside whatever other descriptive keys the records
// had.
//
// HostFingerprint() describes this machine from $JOULECAST_PROC_ROOT/cpuinfo (default /proc; the
// variable is the one collect uses for /proc/stat): the first "model name", the first "flags" and
// the number of "processor" lines, and CpuIdentity. Only cpu, cpu_id, isa_flags and logical_cpus
// are set.
//
// FingerprintOf(hardware) normalises one record's (or one profile's) "hardware" object: the
// collector's form ({"cpu", "logical_cpus", "threads", "libtorch", "blas_library", "gpu",
// "driver", ...}), the getzner2023 import's ({"cpu", "cpu_count", "os"}) and the normalised form
// itself ("blas", "isa_flags") are all read.
//
// FingerprintFromMeasurements(records) is the fingerprint of a set of records: every record with a
// CPU must name the same CPU model (normalised), and the same cpu_id where two records state one;
// otherwise it throws std::runtime_error
//   "fit: the records were measured on different CPU models, 'A' and 'B'; measurements of
//    different CPU models never go into one profile: fit each machine's records separately"
// (with one model string, A and B are "<cpu> [<cpu_id>]").
// A field that some records do not state (records of older collectors have no isa_flags) is
// taken from those that do; a field that two records state differently (threads, libtorch, ...)
// is left unknown.
//
// HardwareMismatch(profile, host) is one line for the user when a profile that describes a CPU
// (target time_s or energy_j, a "cpu" in its hardware and no "gpu") was measured on a CPU model,
// a CPU identity (when both sides know theirs; then each side's CPU reads "<cpu> [<cpu_id>]") or
// a logical CPU count other than the host's:
//   profile <name> was measured on <cpu A> (N logical CPUs), this machine is <cpu B> (M logical
//   CPUs); its predictions do not describe this machine — calibrate or fit a profile here
// and nullopt otherwise (GPU profiles, profiles without a CPU, an unknown host CPU, a match).
// A count that either side does not know is not compared; "(N logical CPUs)" is left out of the
// line for a side that does not know it.
//
// NonNativeDtypeNote(dtype, host) is one line for someone about to measure in a reduced precision
// on an x86 CPU (isa_flags holding avx or sse4_2) without arithmetic of that precision: bfloat16
// without avx512_bf16 and amx_bf16, float16 without avx512_fp16 and amx_fp16:
//   this CPU, <cpu> [<cpu_id>], has no native bfloat16 arithmetic (neither avx512_bf16 nor
//   amx_bf16 among its cpuinfo flags): libtorch converts to float32 and back around each
//   operation, so bfloat16 times measured here describe that emulation, not bfloat16 hardware
// and nullopt for float32 (or any other dtype), a host whose flags are unknown or not x86's, and a
// CPU with one of the flags.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

struct HardwareFingerprint {
  std::string cpu;
  std::string cpu_id;                  // CpuIdentity; empty: unknown
  std::vector<std::string> isa_flags;  // the kIsaFlags the CPU has, sorted
  int logical_cpus = 0;                // 0: unknown
  int threads = 0;                     // intra-op threads of the measured runs; 0: unknown
  std::string libtorch, blas, gpu, driver;

  nlohmann::json ToJson() const;
  static HardwareFingerprint FromJson(const nlohmann::json& j);
  bool operator==(const HardwareFingerprint& o) const;
};

// The ISA extensions a fingerprint keeps (sorted).
extern const std::vector<std::string> kIsaFlags;

// Trimmed, runs of white space collapsed to one space.
std::string NormaliseCpuName(const std::string& s);

// The kIsaFlags among the white-space separated `flags` of a cpuinfo line, sorted.
std::vector<std::string> RelevantIsaFlags(const std::string& flags);

// A processor's identity from its cpuinfo values (key -> value, trimmed): "family F model M
// stepping S" (x86: "cpu family", "model", "stepping"), "implementer I part P variant V revision
// R" (arm64: "CPU implementer", "CPU part", "CPU variant", "CPU revision"); empty when they do
// not say.
std::string CpuIdentity(const std::map<std::string, std::string>& values);

// Parses a cpuinfo file; a missing file gives an empty fingerprint.
HardwareFingerprint FingerprintFromCpuinfo(const std::string& path);
// FingerprintFromCpuinfo($JOULECAST_PROC_ROOT/cpuinfo), JOULECAST_PROC_ROOT defaulting to /proc.
HardwareFingerprint HostFingerprint();

HardwareFingerprint FingerprintOf(const nlohmann::json& hardware);
HardwareFingerprint FingerprintFromMeasurements(const std::vector<const Measurement*>& records);
HardwareFingerprint FingerprintFromMeasurements(const std::vector<Measurement>& records);

// `hardware` with the fingerprint's keys set from `fp` (and removed where `fp` does not know
// them); other keys are kept.
nlohmann::json WithFingerprint(nlohmann::json hardware, const HardwareFingerprint& fp);

std::optional<std::string> HardwareMismatch(const Profile& profile,
                                            const HardwareFingerprint& host);

std::optional<std::string> NonNativeDtypeNote(const std::string& dtype,
                                              const HardwareFingerprint& host);

}  // namespace joulecast
