#include "joulecast/collect/cpu_load.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace joulecast {
namespace {

// The numbers after a "cpu" label; false when fewer than 8 or any is not a number.
bool ParseCpuLine(const std::string& line, std::vector<double>* v) {
  std::istringstream in(line);
  std::string label;
  in >> label;
  v->clear();
  double x = 0;
  while (in >> x) v->push_back(x);
  return in.eof() && v->size() >= 8;
}

}  // namespace

CpuTimes ReadCpuTimes(const std::string& proc_stat, const std::string& self_stat) {
  CpuTimes t;
  std::ifstream stat(proc_stat);
  if (!stat) return {};
  std::string line;
  bool have_total = false;
  while (std::getline(stat, line)) {
    if (line.rfind("cpu ", 0) == 0) {
      std::vector<double> v;
      if (!ParseCpuLine(line, &v)) return {};
      // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
      t.busy = v[0] + v[1] + v[2] + v[5] + v[6];
      t.steal = v[7];
      t.total = t.busy + v[3] + v[4] + v[7];
      have_total = true;
    } else if (line.rfind("cpu", 0) == 0 && line.size() > 3 && line[3] >= '0' && line[3] <= '9') {
      ++t.cpus;
    }
  }
  if (!have_total || t.cpus < 1) return {};
  std::ifstream self(self_stat);
  std::string text((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
  // Field 2, the command name, is parenthesised and may hold spaces: count fields after the
  // last ')'. utime and stime are fields 14 and 15, so the 12th and 13th after it.
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f) fields.push_back(f);
  if (fields.size() < 13) return {};
  try {
    std::size_t used = 0;
    const double utime = std::stod(fields[11], &used);
    if (used != fields[11].size()) return {};
    const double stime = std::stod(fields[12], &used);
    if (used != fields[12].size()) return {};
    t.self = utime + stime;
  } catch (const std::exception&) {
    return {};
  }
  t.ok = true;
  return t;
}

std::optional<CpuLoad> LoadBetween(const CpuTimes& before, const CpuTimes& after) {
  if (!before.ok || !after.ok || before.cpus != after.cpus || before.cpus < 1) return std::nullopt;
  const double wall = (after.total - before.total) / before.cpus;
  if (!(wall >= 1.0)) return std::nullopt;
  CpuLoad l;
  const double others = (after.busy - before.busy) - (after.self - before.self);
  l.other_cpus = std::max(0.0, others / wall);
  l.steal_cpus = std::max(0.0, (after.steal - before.steal) / wall);
  return l;
}

}  // namespace joulecast
