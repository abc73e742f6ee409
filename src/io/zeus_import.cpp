#include "joulecast/io/zeus_import.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>
#include <tuple>

#include "joulecast/io/csv.h"

namespace joulecast {

std::vector<TrainingRun> ImportZeusFile(const std::string& path, const GpuSpec& gpu,
                                        const WorkloadTable& workloads, const std::string& source) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  return ImportZeus(in, path, gpu, workloads, source);
}

std::vector<TrainingRun> ImportZeus(std::istream& in, const std::string& path, const GpuSpec& gpu,
                                    const WorkloadTable& workloads, const std::string& source) {
  CsvReader reader(in, path);
  auto header_rec = reader.Next();
  if (!header_rec) throw std::runtime_error(fmt::format("{}: empty file", path));
  CsvHeader header(header_rec->fields);
  const std::string hw = fmt::format("{}:{}", path, header_rec->line);
  const std::size_t c_ds = header.Index("dataset", hw), c_net = header.Index("network", hw),
                    c_bs = header.Index("batch_size", hw), c_opt = header.Index("optimizer", hw),
                    c_pl = header.Index("power_limit", hw),
                    c_t = header.Index("time_per_epoch", hw),
                    c_p = header.Index("average_power", hw);
  std::vector<TrainingRun> runs;
  std::map<std::tuple<std::string, std::string, long long, std::string, double>, std::size_t> seen;
  while (auto rec = reader.Next()) {
    const std::string where = fmt::format("{}:{}", path, rec->line);
    header.RequireWidth(*rec, path);
    const auto& f = rec->fields;
    try {
      const Workload& w = workloads.FindZeus(f[c_ds], f[c_net]);
      TrainingRun r;
      r.gpu = gpu.name;
      r.workload = w.name;
      const long long bs = ParseInt(f[c_bs], "batch_size");
      if (bs < 1) throw std::invalid_argument(fmt::format("batch_size must be >= 1, got {}", bs));
      r.batch_size = bs;
      r.optimizer = f[c_opt];
      const double pl = ParseDouble(f[c_pl], "power_limit");
      CheckPowerLimit(gpu, pl);
      r.power_limit_w = pl;
      r.epoch_time_s = ParseDouble(f[c_t], "time_per_epoch");
      r.average_power_w = ParseDouble(f[c_p], "average_power");
      if (r.epoch_time_s <= 0 || r.average_power_w <= 0) {
        throw std::invalid_argument(
            fmt::format("time_per_epoch and average_power must be > 0, got {} and {}",
                        r.epoch_time_s, r.average_power_w));
      }
      r.epoch_energy_j = r.epoch_time_s * r.average_power_w;
      r.samples_per_epoch = w.samples_per_epoch;
      r.train_gflops_per_sample = w.train_gflops_per_sample;
      r.params_m = w.params_m;
      r.meter = "nvml";
      r.provenance = {{"file", path}, {"line", rec->line}};
      if (!source.empty()) r.provenance["source"] = source;
      auto key = std::make_tuple(f[c_ds], f[c_net], bs, r.optimizer, pl);
      auto [it, inserted] = seen.emplace(key, rec->line);
      if (!inserted) {
        throw std::invalid_argument(
            fmt::format("configuration {}/{} batch {} {} {} W already on line {}", f[c_ds],
                        f[c_net], bs, r.optimizer, pl, it->second));
      }
      runs.push_back(std::move(r));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
    }
  }
  if (runs.empty()) throw std::runtime_error(fmt::format("{}: no rows", path));
  return runs;
}

}  // namespace joulecast
