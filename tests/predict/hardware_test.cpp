#include "joulecast/predict/hardware.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "cli/cli_helpers.h"
#include "error_of.h"
#include "joulecast/predict/batch_predictor.h"
#include "joulecast/predict/profile_fit.h"

namespace joulecast {
namespace {

using cli_test::CliFixture;
using joulecast_test::ErrorOf;

const char kDash[] = "\u2014";

// A /proc/cpuinfo of `n` logical CPUs of model `cpu` (x86 layout: "key\t: value", a blank line
// between processors).
std::string FakeCpuinfo(const std::string& cpu, int n, const std::string& flags) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += "processor\t: " + std::to_string(i) + "\nvendor_id\t: Whatever\nmodel name\t: " + cpu +
         "\nphysical id\t: 0\ncore id\t\t: " + std::to_string(i) + "\nflags\t\t: " + flags +
         "\n\n";
  }
  return s;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    had_ = std::getenv(name) != nullptr;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

class HardwareTest : public CliFixture {
 protected:
  // A fake proc root holding a cpuinfo; returns its directory.
  std::string FakeRoot(const std::string& name, const std::string& cpu, int n,
                       const std::string& flags = "fpu sse sse2 avx avx2 fma") const {
    cli_test::fs::create_directories(dir_ / name);
    Write(name + "/cpuinfo", FakeCpuinfo(cpu, n, flags));
    return P(name);
  }
};

Profile CpuProfile(const std::string& target, const nlohmann::json& hardware) {
  Profile p;
  p.name = "test-profile";
  p.target = target;
  p.hardware = hardware;
  return p;
}

TEST_F(HardwareTest, HostFingerprintReadsFakeCpuinfo) {
  const std::string root =
      FakeRoot("proc", "  AMD   EPYC 9R14 96-Core Processor ", 4,
               "fpu sse4_2 avx avx2 fma f16c avx512f avx512bw avx512_bf16 avx512_vnni amx_tile "
               "amx_bf16 hypervisor");
  ScopedEnv env("JOULECAST_PROC_ROOT", root);
  const HardwareFingerprint h = HostFingerprint();
  EXPECT_EQ(h.cpu, "AMD EPYC 9R14 96-Core Processor");
  EXPECT_EQ(h.logical_cpus, 4);
  EXPECT_EQ(h.isa_flags,
            (std::vector<std::string>{"amx_bf16", "amx_tile", "avx", "avx2", "avx512_bf16",
                                      "avx512_vnni", "avx512bw", "avx512f", "f16c", "fma",
                                      "sse4_2"}));
  EXPECT_EQ(h.threads, 0);
  EXPECT_EQ(h.ToJson(), nlohmann::json({{"cpu", "AMD EPYC 9R14 96-Core Processor"},
                                        {"isa_flags", h.isa_flags},
                                        {"logical_cpus", 4}}));
  EXPECT_EQ(HardwareFingerprint::FromJson(h.ToJson()), h);
}

TEST_F(HardwareTest, MissingCpuinfoGivesAnEmptyFingerprint) {
  ScopedEnv env("JOULECAST_PROC_ROOT", P("nowhere"));
  const HardwareFingerprint h = HostFingerprint();
  EXPECT_TRUE(h.cpu.empty());
  EXPECT_EQ(h.logical_cpus, 0);
  EXPECT_TRUE(h.ToJson().empty());
  // An unknown host never warns.
  EXPECT_FALSE(HardwareMismatch(CpuProfile("time_s", {{"cpu", "X"}, {"logical_cpus", 2}}), h));
}

TEST(Hardware, FingerprintOfCollectorAndGetznerRecords) {
  const HardwareFingerprint c = FingerprintOf(
      {{"blas_library", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"},
       {"cpu", "Intel(R) Xeon(R) Processor"},
       {"kernel", "Linux"},
       {"libtorch", "1.13.0"},
       {"logical_cpus", 2},
       {"threads", 1},
       {"meter", {{"name", "none"}}}});
  EXPECT_EQ(c.ToJson(), nlohmann::json({{"blas", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"},
                                        {"cpu", "Intel(R) Xeon(R) Processor"},
                                        {"libtorch", "1.13.0"},
                                        {"logical_cpus", 2},
                                        {"threads", 1}}));
  const HardwareFingerprint g =
      FingerprintOf({{"cpu", "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz"},
                     {"cpu_count", 2},
                     {"os", "Linux-5.4.0-94-generic-x86_64-with-glibc2.31"}});
  EXPECT_EQ(g.ToJson(), nlohmann::json({{"cpu", "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz"},
                                        {"logical_cpus", 2}}));
  const HardwareFingerprint gpu =
      FingerprintOf({{"cpu", "AMD EPYC"}, {"gpu", "NVIDIA H100"}, {"driver", "550.54"}});
  EXPECT_EQ(gpu.gpu, "NVIDIA H100");
  EXPECT_EQ(gpu.driver, "550.54");
}

TEST(Hardware, ShippedProfilesStateTheirHardware) {
  const Profile t = Profile::Load("models/intel-xeon-2c-time.json");
  EXPECT_EQ(FingerprintOf(t.hardware).ToJson(),
            nlohmann::json({{"blas", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"},
                            {"cpu", "Intel(R) Xeon(R) Processor"},
                            {"libtorch", "1.13.0"},
                            {"logical_cpus", 2},
                            {"threads", 1}}));
  EXPECT_EQ(t.hardware["logical_cpus"], 2);
  EXPECT_EQ(t.hardware["blas"], "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3");
  EXPECT_TRUE(t.hardware.contains("blas_library"));  // the records' own keys are kept
  const Profile x = Profile::Load("models/xeon-gold-5120.json");
  EXPECT_EQ(x.hardware["cpu"], "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz");
  EXPECT_EQ(x.hardware["logical_cpus"], 2);
  EXPECT_EQ(x.hardware["cpu_count"], 2);
}

TEST(Hardware, WarnsExactlyWhenTheCpuDiffers) {
  const Profile p =
      CpuProfile("time_s", {{"cpu", "Intel(R) Xeon(R) Processor"}, {"logical_cpus", 2}});
  HardwareFingerprint host;
  host.cpu = "Intel(R)  Xeon(R) Processor ";  // normalised before comparing
  host.cpu = NormaliseCpuName(host.cpu);
  host.logical_cpus = 2;
  EXPECT_FALSE(HardwareMismatch(p, host));
  // Same CPU model, other count: warns.
  host.logical_cpus = 8;
  ASSERT_TRUE(HardwareMismatch(p, host));
  EXPECT_EQ(*HardwareMismatch(p, host),
            std::string("profile test-profile was measured on Intel(R) Xeon(R) Processor (2 "
                        "logical CPUs), this machine is Intel(R) Xeon(R) Processor (8 logical "
                        "CPUs); its predictions do not describe this machine ") +
                kDash + " calibrate or fit a profile here");
  host.cpu = "AMD EPYC 9R14";
  host.logical_cpus = 2;
  const auto w = HardwareMismatch(p, host);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, std::string("profile test-profile was measured on Intel(R) Xeon(R) Processor (2 "
                            "logical CPUs), this machine is AMD EPYC 9R14 (2 logical CPUs); its "
                            "predictions do not describe this machine ") +
                    kDash + " calibrate or fit a profile here");
  EXPECT_EQ(w->find('\n'), std::string::npos);
  // Energy profiles of CPUs warn too; the Getzner form (cpu_count) is read.
  const Profile e = CpuProfile(
      "energy_j", {{"cpu", "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz"}, {"cpu_count", 2}});
  ASSERT_TRUE(HardwareMismatch(e, host));
  EXPECT_NE(HardwareMismatch(e, host)->find("Gold 5120 CPU @ 2.20GHz (2 logical CPUs)"),
            std::string::npos);
}

TEST(Hardware, NoWarningForGpuProfilesOtherTargetsOrUnknownHardware) {
  HardwareFingerprint host;
  host.cpu = "AMD EPYC 9R14";
  host.logical_cpus = 2;
  // A GPU profile: its CPU is not what it describes.
  EXPECT_FALSE(HardwareMismatch(
      CpuProfile("time_s", {{"cpu", "Intel Xeon"}, {"gpu", "NVIDIA A100"}, {"driver", "1"}}),
      host));
  EXPECT_FALSE(HardwareMismatch(CpuProfile("energy_j", {{"gpu", "NVIDIA A100"}}), host));
  // Another target.
  EXPECT_FALSE(HardwareMismatch(CpuProfile("flops", {{"cpu", "Intel Xeon"}}), host));
  // No hardware stated.
  EXPECT_FALSE(HardwareMismatch(CpuProfile("time_s", nlohmann::json::object()), host));
  // A count one side does not know is not compared, nor named.
  const auto w = HardwareMismatch(CpuProfile("time_s", {{"cpu", "Intel Xeon"}}), host);
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("measured on Intel Xeon, this machine is AMD EPYC 9R14 (2 logical CPUs);"),
            std::string::npos);
  EXPECT_FALSE(HardwareMismatch(CpuProfile("time_s", {{"cpu", "AMD EPYC 9R14"}}), host));
}

Measurement Linear(std::int64_t b, std::int64_t in, std::int64_t out, const nlohmann::json& hw) {
  Measurement m;
  m.type = "Linear";
  m.params = {{"in_features", in}, {"out_features", out}, {"bias", true}};
  m.batch_size = b;
  m.input_shape = {in};
  m.duration_s = 1e-9 * double(b) * double(in) * double(out) + 1e-5;
  m.hardware = hw;
  return m;
}

FitOptions SmallFit() {
  FitOptions o;
  o.target = "time_s";
  o.degrees = {1};
  o.gammas = {0.1};
  o.kernel_alphas = {0.01};
  return o;
}

const nlohmann::json kHwA = {{"cpu", "Intel(R) Xeon(R) Processor"},
                             {"logical_cpus", 2},
                             {"threads", 1},
                             {"libtorch", "1.13.0"},
                             {"blas_library", "/usr/lib/libblas.so.3"},
                             {"kernel", "Linux 6"}};

TEST(Hardware, FitWritesTheNormalisedFingerprint) {
  std::vector<Measurement> v;
  for (int i = 0; i < 30; ++i) v.push_back(Linear(1 + i % 7, 64 + 13 * i, 32 + 7 * i, kHwA));
  const Profile p = FitProfile(v, SmallFit());
  EXPECT_EQ(p.hardware["cpu"], "Intel(R) Xeon(R) Processor");
  EXPECT_EQ(p.hardware["logical_cpus"], 2);
  EXPECT_EQ(p.hardware["threads"], 1);
  EXPECT_EQ(p.hardware["libtorch"], "1.13.0");
  EXPECT_EQ(p.hardware["blas"], "/usr/lib/libblas.so.3");
  EXPECT_EQ(p.hardware["kernel"], "Linux 6");  // the records' description is kept
  EXPECT_EQ(FingerprintFromMeasurements(v).ToJson(), FingerprintOf(p.hardware).ToJson());
  // Records that disagree on the thread count: the count is unknown.
  nlohmann::json other = kHwA;
  other["threads"] = 2;
  other["cpu"] = " Intel(R)   Xeon(R) Processor";  // the same model, spelt with more spaces
  v.push_back(Linear(3, 100, 50, other));
  const Profile q = FitProfile(v, SmallFit());
  EXPECT_FALSE(q.hardware.contains("threads"));
  EXPECT_EQ(q.hardware["cpu"], "Intel(R) Xeon(R) Processor");
  // A record that does not state its ISA flags (an older collector's) does not make them
  // unknown; two records that state different flags do.
  nlohmann::json flags = kHwA;
  flags["isa_flags"] = {"avx2", "fma"};
  v.push_back(Linear(5, 80, 40, flags));
  EXPECT_EQ(FingerprintFromMeasurements(v).isa_flags, (std::vector<std::string>{"avx2", "fma"}));
  flags["isa_flags"] = {"avx2"};
  v.push_back(Linear(6, 80, 40, flags));
  EXPECT_TRUE(FingerprintFromMeasurements(v).isa_flags.empty());
  v.push_back(Linear(7, 80, 40, kHwA));
  EXPECT_TRUE(FingerprintFromMeasurements(v).isa_flags.empty());  // stays unknown
}

// A virtual machine's model string ("AMD EPYC") can name several CPU generations: the identity
// from cpuinfo (family, model, stepping) tells them apart, when both sides know theirs.
TEST_F(HardwareTest, CpuIdentityTellsOneModelStringApart) {
  Write("zen5",
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
        "model name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: avx avx2 fma\n\n"
        "processor\t: 1\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n"
        "stepping\t: 1\n\n");
  Write("arm",
        "processor\t: 0\nFeatures\t: fp asimd neon\nCPU implementer\t: 0x41\n"
        "CPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd0c\n"
        "CPU revision\t: 1\n\n");
  EXPECT_EQ(FingerprintFromCpuinfo(P("zen5")).cpu_id, "family 26 model 2 stepping 1");
  EXPECT_EQ(FingerprintFromCpuinfo(P("arm")).cpu_id,
            "implementer 0x41 part 0xd0c variant 0x1 revision 1");
  EXPECT_EQ(FingerprintFromCpuinfo(P("nowhere")).cpu_id, "");
  const HardwareFingerprint host = FingerprintFromCpuinfo(P("zen5"));
  EXPECT_EQ(host.cpu_id, "family 26 model 2 stepping 1");
  EXPECT_EQ(host.ToJson()["cpu_id"], "family 26 model 2 stepping 1");
  EXPECT_EQ(HardwareFingerprint::FromJson(host.ToJson()), host);

  nlohmann::json zen4 = {
      {"cpu", "AMD EPYC"}, {"cpu_id", "family 25 model 17 stepping 1"}, {"logical_cpus", 2}};
  const auto w = HardwareMismatch(CpuProfile("time_s", zen4), host);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, std::string("profile test-profile was measured on AMD EPYC [family 25 model 17 "
                            "stepping 1] (2 logical CPUs), this machine is AMD EPYC [family 26 "
                            "model 2 stepping 1] (2 logical CPUs); its predictions do not "
                            "describe this machine ") +
                    kDash + " calibrate or fit a profile here");
  // The same identity, or a profile that does not know its own (older records): no warning.
  zen4["cpu_id"] = "family 26 model 2 stepping 1";
  EXPECT_FALSE(HardwareMismatch(CpuProfile("time_s", zen4), host));
  zen4.erase("cpu_id");
  EXPECT_FALSE(HardwareMismatch(CpuProfile("time_s", zen4), host));

  // Records of one model string and two identities never go into one fit.
  std::vector<Measurement> v;
  for (int i = 0; i < 3; ++i)
    v.push_back(Linear(1 + i, 64, 32, {{"cpu", "AMD EPYC"}, {"cpu_id", "family 25 model 17"}}));
  v.push_back(Linear(2, 64, 32, {{"cpu", "AMD EPYC"}}));  // unknown: no conflict
  EXPECT_EQ(FingerprintFromMeasurements(v).cpu_id, "family 25 model 17");
  v.push_back(Linear(4, 64, 32, {{"cpu", "AMD EPYC"}, {"cpu_id", "family 26 model 2"}}));
  EXPECT_EQ(ErrorOf([&] { FingerprintFromMeasurements(v); }),
            "fit: the records were measured on different CPU models, 'AMD EPYC [family 25 model "
            "17]' and 'AMD EPYC [family 26 model 2]'; measurements of different CPU models never "
            "go into one profile: fit each machine's records separately");
}

TEST(Hardware, FitRefusesMixedCpuModels) {
  std::vector<Measurement> v;
  for (int i = 0; i < 30; ++i) v.push_back(Linear(1 + i % 7, 64 + 13 * i, 32 + 7 * i, kHwA));
  v.push_back(Linear(3, 100, 50, {{"cpu", "AMD EPYC 9R14"}, {"logical_cpus", 2}}));
  try {
    FitProfile(v, SmallFit());
    FAIL() << "fit accepted records of two CPU models";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "fit: the records were measured on different CPU models, 'Intel(R) Xeon(R) "
              "Processor' and 'AMD EPYC 9R14'; measurements of different CPU models never go "
              "into one profile: fit each machine's records separately");
  }
}

TEST_F(HardwareTest, FitCliRefusesMixedCpuModels) {
  std::string a, b;
  for (int i = 0; i < 30; ++i) {
    a += ToJson(Linear(1 + i % 7, 64 + 13 * i, 32 + 7 * i, kHwA)).dump() + "\n";
    b += ToJson(Linear(1 + i % 5, 80 + 11 * i, 40 + 5 * i,
                       {{"cpu", "AMD EPYC 9R14"}, {"logical_cpus", 2}}))
             .dump() +
         "\n";
  }
  const std::string fa = Write("a.jsonl", a), fb = Write("b.jsonl", b);
  const auto r = Run("fit " + fa + " " + fb + " --target time_s -o " + P("p.json"));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err,
            "joulecast: error: fit: the records were measured on different CPU models, 'Intel(R) "
            "Xeon(R) Processor' and 'AMD EPYC 9R14'; measurements of different CPU models never "
            "go into one profile: fit each machine's records separately\n");
  EXPECT_FALSE(cli_test::fs::exists(P("p.json")));
}

TEST_F(HardwareTest, BatchPredictorCarriesTheWarning) {
  const Profile p = Profile::Load("models/intel-xeon-2c-time.json");
  {
    ScopedEnv env("JOULECAST_PROC_ROOT", FakeRoot("amd", "AMD EPYC 9R14", 2));
    const BatchPredictor bp(p);
    ASSERT_TRUE(bp.hardware_warning());
    EXPECT_EQ(*bp.hardware_warning(), *HardwareMismatch(p, HostFingerprint()));
  }
  ScopedEnv env("JOULECAST_PROC_ROOT", FakeRoot("same", "Intel(R) Xeon(R) Processor", 2));
  EXPECT_FALSE(BatchPredictor(p).hardware_warning());
}

TEST_F(HardwareTest, PredictWarnsOnceOnAnotherCpu) {
  const std::string amd = FakeRoot("amd", "AMD EPYC 9R14", 2);
  const std::string same = FakeRoot("same", "Intel(R) Xeon(R) Processor", 2);
  const std::string args = "predict resnet18 --model models/intel-xeon-2c-time.json";
  const auto r = Run(args, "JOULECAST_PROC_ROOT=" + cli_test::Quote(amd));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, std::string("joulecast: warning: profile intel-xeon-2c-time was measured on "
                               "Intel(R) Xeon(R) Processor (2 logical CPUs), this machine is AMD "
                               "EPYC 9R14 (2 logical CPUs); its predictions do not describe this "
                               "machine ") +
                       kDash + " calibrate or fit a profile here\n");
  const auto s = Run(args, "JOULECAST_PROC_ROOT=" + cli_test::Quote(same));
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.err, "");
  EXPECT_EQ(s.out, r.out);  // the warning changes nothing else
  // compare and evaluate warn the same way, once.
  const auto c = Run("compare resnet18 vgg11 --model models/xeon-gold-5120.json",
                     "JOULECAST_PROC_ROOT=" + cli_test::Quote(amd));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(cli_test::StartsWith(
      c.err, "joulecast: warning: profile xeon-gold-5120 was measured on Intel(R) Xeon(R) Gold "
             "5120 CPU @ 2.20GHz (2 logical CPUs), this machine is AMD EPYC 9R14"))
      << c.err;
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1);
}

TEST(Hardware, NonNativeDtypeNoteNamesTheMissingFlags) {
  HardwareFingerprint zen3;
  zen3.cpu = "AMD EPYC";
  zen3.cpu_id = "family 25 model 1 stepping 1";
  zen3.isa_flags = {"avx", "avx2", "f16c", "fma", "sse4_2"};
  const auto bf16 = NonNativeDtypeNote("bfloat16", zen3);
  ASSERT_TRUE(bf16);
  EXPECT_EQ(*bf16,
            "this CPU, AMD EPYC [family 25 model 1 stepping 1], has no native bfloat16 arithmetic "
            "(neither avx512_bf16 nor amx_bf16 among its cpuinfo flags): libtorch converts to "
            "float32 and back around each operation, so bfloat16 times measured here describe "
            "that emulation, not bfloat16 hardware");
  const auto fp16 = NonNativeDtypeNote("float16", zen3);
  ASSERT_TRUE(fp16);
  EXPECT_NE(fp16->find("no native float16 arithmetic (neither avx512_fp16 nor amx_fp16"),
            std::string::npos)
      << *fp16;
  EXPECT_FALSE(NonNativeDtypeNote("float32", zen3));
  // Either flag of the pair is native arithmetic.
  HardwareFingerprint zen5 = zen3;
  zen5.isa_flags.push_back("avx512_bf16");
  EXPECT_FALSE(NonNativeDtypeNote("bfloat16", zen5));
  EXPECT_TRUE(NonNativeDtypeNote("float16", zen5));
  HardwareFingerprint sapphire = zen3;
  sapphire.isa_flags = {"amx_bf16", "amx_fp16", "avx", "sse4_2"};
  EXPECT_FALSE(NonNativeDtypeNote("bfloat16", sapphire));
  EXPECT_FALSE(NonNativeDtypeNote("float16", sapphire));
  // Unknown flags, or another architecture's: nothing is claimed.
  EXPECT_FALSE(NonNativeDtypeNote("bfloat16", HardwareFingerprint{}));
  HardwareFingerprint arm;
  arm.cpu = "Neoverse-V1";
  arm.isa_flags = {"neon"};
  EXPECT_FALSE(NonNativeDtypeNote("bfloat16", arm));
}

TEST_F(HardwareTest, CalibrateAndCollectSayWhenBfloat16IsEmulated) {
  const std::string zen3 = FakeRoot("zen3", "AMD EPYC", 2, "fpu sse4_2 avx avx2 fma f16c");
  const std::string zen5 =
      FakeRoot("zen5", "AMD EPYC", 2, "fpu sse4_2 avx avx2 fma f16c avx512f avx512_bf16");
  const std::string note =
      "joulecast: warning: this CPU, AMD EPYC, has no native bfloat16 arithmetic (neither "
      "avx512_bf16 nor amx_bf16 among its cpuinfo flags): libtorch converts to float32 and back "
      "around each operation, so bfloat16 times measured here describe that emulation, not "
      "bfloat16 hardware\n";
  const std::string calibrate =
      "calibrate --base models/amd-epyc-2c-reserve-time.json --minutes 1 "
      "--dtype bfloat16 --dry-run -o " +
      P("cal.json");
  const auto r = Run(calibrate, "JOULECAST_PROC_ROOT=" + cli_test::Quote(zen3));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, note);
  const auto native = Run(calibrate, "JOULECAST_PROC_ROOT=" + cli_test::Quote(zen5));
  ASSERT_EQ(native.status, 0) << native.err;
  EXPECT_EQ(native.err, "");
  EXPECT_EQ(native.out, r.out);  // a note, not another plan
  // A float32 calibration on the same CPU says nothing.
  const auto fp32 =
      Run("calibrate --base models/amd-epyc-2c-reserve-time.json --minutes 1 "
          "--dry-run -o " +
              P("cal.json"),
          "JOULECAST_PROC_ROOT=" + cli_test::Quote(zen3));
  EXPECT_EQ(fp32.err, "");
  const std::string collect = "collect --layer Linear --samples 3 --dtype bfloat16 --dry-run -o " +
                              cli_test::Quote(P("c.jsonl"));
  const auto c = Run(collect, "JOULECAST_PROC_ROOT=" + cli_test::Quote(zen3));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, note);
  EXPECT_EQ(Run(collect, "JOULECAST_PROC_ROOT=" + cli_test::Quote(zen5)).err, "");
}

}  // namespace
}  // namespace joulecast
