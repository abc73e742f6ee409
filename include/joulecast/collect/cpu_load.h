// How busy the rest of the machine was while a configuration was measured.
//
// On a small machine a compiler on the other core slows a measurement a lot (on the 2-vCPU
// development machine: vgg16's forward pass 54-63 % slower; data/collect/ci-2c/disturbed/), and
// the time alone does not show it. So the collector reads the kernel's CPU accounting before and
// after each configuration:
//   /proc/stat, line "cpu":  user nice system idle iowait irq softirq steal ...  (clock ticks,
//                            summed over CPUs); the "cpuN" lines count the CPUs
//   /proc/self/stat:         fields 14 and 15, utime and stime of this process (all threads)
// and reports, over the interval,
//   wall      = Δ(user + nice + system + idle + iowait + irq + softirq + steal) / CPUs   (ticks)
//   other     = (Δ(user + nice + system + irq + softirq) − Δ(utime + stime)) / wall
//               the number of CPUs that other processes (and the kernel for them) kept busy on
//               average, 0 .. CPUs − 1 or so;
//   steal     = Δsteal / wall: CPUs' worth of time the hypervisor gave to other guests.
// Both are clamped at 0 (tick rounding can make a small negative). A value is missing (nullopt)
// when a file cannot be read or parsed, or the interval is shorter than one tick per CPU:
// nothing throws, because a measurement must not be lost for want of a load figure.
#pragma once

#include <optional>
#include <string>

namespace joulecast {

struct CpuTimes {
  bool ok = false;
  int cpus = 0;                // "cpuN" lines in /proc/stat
  double busy = 0, total = 0;  // ticks over all CPUs: busy excludes idle, iowait and steal
  double steal = 0;            // ticks
  double self = 0;             // this process's utime + stime, ticks
};

// Reads both files; ok = false (and the rest 0) when either is missing or malformed.
CpuTimes ReadCpuTimes(const std::string& proc_stat = "/proc/stat",
                      const std::string& self_stat = "/proc/self/stat");

struct CpuLoad {
  double other_cpus = 0;  // CPUs kept busy by other processes, mean over the interval
  double steal_cpus = 0;  // CPUs' worth of time stolen by the hypervisor
};

// nullopt when either reading failed, the CPU count changed, or less than one tick per CPU passed.
std::optional<CpuLoad> LoadBetween(const CpuTimes& before, const CpuTimes& after);

}  // namespace joulecast
