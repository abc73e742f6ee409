// A stand-in for libnvidia-ml.so.1 with the NVML symbols joulecast's meter resolves
// (collect/meter.h), so that the NVML path runs in tests on machines without a GPU. Built twice
// by tests/CMakeLists.txt: with the total-energy counter, and with -DFAKE_NVML_NO_ENERGY_COUNTER
// (a pre-Volta GPU: the meter must fall back to sampling the power).
//
// The simulated GPU draws a constant power, FAKE_NVML_POWER_W watts (environment, default 50), so
// the energy counter (millijoules) is power x seconds since nvmlInit_v2 on the steady clock. One GPU
// (index 0) named "Fake GPU"; driver "999.99"; any other index answers
// NVML_ERROR_INVALID_ARGUMENT (2). Calls before nvmlInit_v2 answer NVML_ERROR_UNINITIALIZED (1).
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace {

using Clock = std::chrono::steady_clock;
bool g_initialised = false;
Clock::time_point g_start;
int g_device_tag = 0;  // the handle points here

double PowerW() {
  const char* v = std::getenv("FAKE_NVML_POWER_W");
  return v && *v ? std::atof(v) : 50.0;
}

int Copy(const char* text, char* out, unsigned length) {
  if (std::strlen(text) + 1 > length) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  std::strcpy(out, text);
  return 0;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int nvmlInit_v2() {
  g_initialised = true;
  g_start = Clock::now();
  return 0;
}

__attribute__((visibility("default"))) int nvmlShutdown() {
  g_initialised = false;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetHandleByIndex_v2(unsigned index,
                                                                         void** device) {
  if (!g_initialised) return 1;
  if (index != 0) return 2;
  *device = &g_device_tag;
  return 0;
}

__attribute__((visibility("default"))) int nvmlDeviceGetName(void* device, char* name,
                                                             unsigned length) {
  if (!g_initialised || device != &g_device_tag) return 1;
  return Copy("Fake GPU", name, length);
}

__attribute__((visibility("default"))) int nvmlSystemGetDriverVersion(char* version,
                                                                      unsigned length) {
  if (!g_initialised) return 1;
  return Copy("999.99", version, length);
}

__attribute__((visibility("default"))) int nvmlDeviceGetPowerUsage(void* device,
                                                                   unsigned* milliwatts) {
  if (!g_initialised || device != &g_device_tag) return 1;
  *milliwatts = static_cast<unsigned>(PowerW() * 1000.0 + 0.5);
  return 0;
}

#ifndef FAKE_NVML_NO_ENERGY_COUNTER
__attribute__((visibility("default"))) int nvmlDeviceGetTotalEnergyConsumption(
    void* device, unsigned long long* millijoules) {
  if (!g_initialised || device != &g_device_tag) return 1;
  const double s = std::chrono::duration<double>(Clock::now() - g_start).count();
  *millijoules = static_cast<unsigned long long>(PowerW() * s * 1000.0);
  return 0;
}
#endif

}  // extern "C"
