#include "joulecast/io/codecarbon_import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>

#include "joulecast/io/csv.h"

namespace joulecast {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Row {
  std::size_t line = 0;
  std::size_t index = 0;  // 0-based data row in the file
  std::string key;        // project_name without rep_no and forward_passes: identifies the config
  std::string module;
  Fields fields;  // everything else in project_name, in order
  long long rep_no = 0;
  double energy_j = 0;    // per pass
  double duration_s = 0;  // per pass
  std::optional<double> macs;
  std::string timestamp;
  std::string cpu_model, os;
  long long cpu_count = 0;
};

const std::string* Find(const Fields& f, const std::string& key) {
  for (const auto& kv : f) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

std::int64_t PositiveField(const Fields& f, const std::string& key, bool allow_zero = false) {
  const std::string* v = Find(f, key);
  if (!v) throw std::invalid_argument(fmt::format("project_name lacks '{}'", key));
  long long x = ParseInt(*v, fmt::format("project_name field '{}'", key));
  if (x < (allow_zero ? 0 : 1)) {
    throw std::invalid_argument(fmt::format("project_name field '{}' must be {}, got {}", key,
                                            allow_zero ? ">= 0" : ">= 1", x));
  }
  return x;
}

Row ParseRow(const CsvRecord& rec, const CsvHeader& h, const std::string& path,
             const std::string& energy_column) {
  auto field = [&](const char* name) -> const std::string& {
    std::size_t i = h.Index(name, path);
    if (i >= rec.fields.size()) {
      throw std::invalid_argument(
          fmt::format("row has {} fields, header has {}", rec.fields.size(), h.size()));
    }
    return rec.fields[i];
  };
  if (rec.fields.size() != h.size()) {
    throw std::invalid_argument(
        fmt::format("row has {} fields, header has {}", rec.fields.size(), h.size()));
  }
  Row row;
  row.line = rec.line;
  const std::string& pn = field("project_name");
  long long forward_passes = -1;
  std::size_t start = 0;
  while (start <= pn.size()) {
    std::size_t comma = pn.find(',', start);
    std::string item =
        pn.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t colon = item.find(':');
    if (colon == std::string::npos)
      throw std::invalid_argument(fmt::format("project_name item '{}' has no ':'", item));
    std::string k = item.substr(0, colon), v = item.substr(colon + 1);
    if (k == "module") {
      row.module = v;
    } else if (k == "rep_no") {
      row.rep_no = ParseInt(v, "project_name field 'rep_no'");
    } else if (k == "forward_passes") {
      forward_passes = ParseInt(v, "project_name field 'forward_passes'");
    } else {
      row.fields.emplace_back(k, v);
      row.key += item + ",";
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (row.module.empty()) throw std::invalid_argument("project_name lacks 'module'");
  row.key = row.module + "," + row.key;
  if (forward_passes == -1) throw std::invalid_argument("project_name lacks 'forward_passes'");
  if (forward_passes < 1)
    throw std::invalid_argument(fmt::format("forward_passes must be >= 1, got {}", forward_passes));
  if (const std::string* m = Find(row.fields, "macs")) {
    row.macs = ParseDouble(*m, "project_name field 'macs'");
    // The measurement reader refuses negative MACs: refuse them here, with the row's line, rather
    // than write a file that cannot be read back (fuzz finding, issue 7).
    if (*row.macs < 0)
      throw std::invalid_argument(fmt::format("project_name field 'macs' is negative: {}", *m));
  }
  double energy_kwh = ParseDouble(field(energy_column.c_str()), energy_column);
  double duration = ParseDouble(field("duration"), "duration");
  if (energy_kwh < 0)
    throw std::invalid_argument(fmt::format("{} is negative: {}", energy_column, energy_kwh));
  if (duration <= 0)
    throw std::invalid_argument(fmt::format("duration must be > 0, got {}", duration));
  row.energy_j = energy_kwh / static_cast<double>(forward_passes) * 3.6e6;
  row.duration_s = duration / static_cast<double>(forward_passes);
  if (h.Has("timestamp")) row.timestamp = field("timestamp");
  if (h.Has("cpu_model")) row.cpu_model = field("cpu_model");
  if (h.Has("os")) row.os = field("os");
  if (h.Has("cpu_count") && !field("cpu_count").empty())
    row.cpu_count = ParseInt(field("cpu_count"), "cpu_count");
  return row;
}

// "architecture=vgg16;layer_idx=3" -> {architecture, layer_idx}
std::optional<std::pair<std::string, long long>> ParseFreeText(const Fields& f) {
  const std::string* ft = Find(f, "freeText");
  if (!ft || ft->empty()) return std::nullopt;
  std::string arch;
  std::optional<long long> idx;
  std::size_t start = 0;
  while (start <= ft->size()) {
    std::size_t semi = ft->find(';', start);
    std::string item =
        ft->substr(start, semi == std::string::npos ? std::string::npos : semi - start);
    std::size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument(fmt::format("freeText item '{}' has no '='", item));
    if (item.substr(0, eq) == "architecture") arch = item.substr(eq + 1);
    if (item.substr(0, eq) == "layer_idx")
      idx = ParseInt(item.substr(eq + 1), "freeText layer_idx");
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  if (arch.empty() || !idx || *idx < 0)
    throw std::invalid_argument(fmt::format("freeText '{}' lacks architecture or layer_idx", *ft));
  return std::make_pair(arch, *idx);
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

std::optional<double> SampleStd(const std::vector<double>& v) {
  if (v.size() < 2) return std::nullopt;
  double m = Mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

LayerInstance LayerFromGetznerFields(const std::string& module, const Fields& f,
                                     std::int64_t* batch_size) {
  LayerInstance l;
  l.type = module;
  *batch_size = PositiveField(f, "batch_size");
  auto square = [](std::int64_t v) { return nlohmann::json::array({v, v}); };
  if (module == "Conv2d") {
    std::int64_t ci = PositiveField(f, "in_channels"), co = PositiveField(f, "out_channels");
    std::int64_t h = PositiveField(f, "image_size"), k = PositiveField(f, "kernel_size");
    std::int64_t s = PositiveField(f, "stride"), p = PositiveField(f, "padding", true);
    if (h + 2 * p < k)
      throw std::invalid_argument(
          fmt::format("kernel_size {} exceeds padded image {}", k, h + 2 * p));
    l.params = {{"in_channels", ci},   {"out_channels", co},   {"kernel_size", square(k)},
                {"stride", square(s)}, {"padding", square(p)}, {"dilation", square(1)},
                {"groups", 1},         {"bias", true}};
    l.input_shape = {ci, h, h};
    std::int64_t ho = (h + 2 * p - k) / s + 1;
    l.output_shape = {co, ho, ho};
  } else if (module == "MaxPool2d") {
    std::int64_t c = PositiveField(f, "in_channels"), h = PositiveField(f, "image_size");
    std::int64_t k = PositiveField(f, "kernel_size"), s = PositiveField(f, "stride");
    std::int64_t p = PositiveField(f, "padding", true);
    if (h + 2 * p < k)
      throw std::invalid_argument(
          fmt::format("kernel_size {} exceeds padded image {}", k, h + 2 * p));
    l.params = {{"kernel_size", square(k)},
                {"stride", square(s)},
                {"padding", square(p)},
                {"dilation", square(1)},
                {"ceil_mode", false}};
    l.input_shape = {c, h, h};
    std::int64_t ho = (h + 2 * p - k) / s + 1;
    l.output_shape = {c, ho, ho};
  } else if (module == "Linear") {
    std::int64_t in = PositiveField(f, "input_size"), out = PositiveField(f, "output_size");
    l.params = {{"in_features", in}, {"out_features", out}, {"bias", true}};
    l.input_shape = {in};
    l.output_shape = {out};
  } else if (module == "ReLU" || module == "Sigmoid" || module == "Tanh" || module == "Softmax") {
    std::int64_t n = PositiveField(f, "input_size");
    if (module == "ReLU") l.params = {{"inplace", false}};
    if (module == "Softmax") l.params = {{"dim", 1}};
    if (module == "Sigmoid" || module == "Tanh") l.params = nlohmann::json::object();
    l.input_shape = {n};
    l.output_shape = {n};
  } else {
    throw std::invalid_argument(fmt::format("unknown module '{}' with layer parameters", module));
  }
  // The measurement reader allows at most 2^53 elements per sample: refuse more here, with the
  // row's line, rather than write a file that cannot be read back (fuzz finding, issue 7).
  for (const Shape* shape : {&l.input_shape, &l.output_shape}) {
    double n = 1;
    for (std::int64_t d : *shape) n *= static_cast<double>(d);
    if (n > 9007199254740992.0) {
      throw std::invalid_argument(fmt::format("{} shape {} has more than 2^53 elements",
                                              shape == &l.input_shape ? "input" : "output",
                                              fmt::join(*shape, "x")));
    }
  }
  return l;
}

void ImportCodeCarbonFile(const std::string& path, const SlurmLog* log,
                          const CodeCarbonImportOptions& options, CodeCarbonImportResult& result) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
  ImportCodeCarbon(in, path, log, options, result);
}

void ImportCodeCarbon(std::istream& in, const std::string& path, const SlurmLog* log,
                      const CodeCarbonImportOptions& options, CodeCarbonImportResult& result) {
  CsvReader reader(in, path);
  auto header_rec = reader.Next();
  if (!header_rec) throw std::runtime_error(fmt::format("{}: empty file", path));
  CsvHeader header(header_rec->fields);
  for (const char* col : {"project_name", "duration"}) header.Index(col, path);
  header.Index(options.energy_column, path);

  auto report = [&](std::size_t line, const std::string& why) {
    std::string msg = fmt::format("{}:{}: {}", path, line, why);
    if (options.strict) throw std::runtime_error(msg);
    result.warnings.push_back(msg);
    ++result.rows_malformed;
  };

  // Group consecutive rows of one configuration; the group's ordinal is the log's config index.
  std::vector<std::vector<Row>> groups;
  std::string last_key;
  std::size_t index = 0;
  while (auto rec = reader.Next()) {
    ++result.rows;
    std::size_t this_index = index++;
    Row row;
    try {
      row = ParseRow(*rec, header, path, options.energy_column);
    } catch (const std::invalid_argument& e) {
      // The row keeps its index (per-row logs count it); it joins no group, so the repetitions
      // around it stay one configuration and progress-bar numbering is unchanged.
      report(rec->line, e.what());
      continue;
    }
    row.index = this_index;
    if (groups.empty() || row.key != last_key || row.rep_no == 1) groups.emplace_back();
    last_key = row.key;
    groups.back().push_back(std::move(row));
  }

  const SlurmSection* section = nullptr;
  std::string module_for_log;
  for (const auto& g : groups) {
    if (!g.empty()) {
      module_for_log = g.front().module;
      break;
    }
  }
  if (log && !module_for_log.empty()) section = &log->SectionFor(module_for_log);

  for (std::size_t config = 0; config < groups.size(); ++config) {
    const auto& g = groups[config];
    if (g.empty()) continue;
    std::vector<const Row*> kept;
    for (const Row& r : g) {
      bool bad =
          section && (section->bad_rows.count(r.index) || section->bad_configs.count(config));
      if (bad) {
        ++result.rows_dropped_by_log;
      } else {
        kept.push_back(&r);
      }
    }
    if (kept.empty()) continue;
    const Row& first = *kept.front();
    Measurement m;
    try {
      auto free_text = ParseFreeText(first.fields);
      bool has_params = Find(first.fields, "image_size") || Find(first.fields, "input_size");
      if (has_params) {
        LayerInstance l = LayerFromGetznerFields(first.module, first.fields, &m.batch_size);
        m.type = l.type;
        m.params = l.params;
        m.input_shape = l.input_shape;
        if (free_text)
          m.context = {{"architecture", free_text->first}, {"layer_index", free_text->second}};
      } else {
        if (!free_text)
          throw std::invalid_argument(
              fmt::format("module '{}' has neither layer parameters nor freeText", first.module));
        m.batch_size = PositiveField(first.fields, "batch_size");
        const std::string& arch = free_text->first;
        if (free_text->second == 0) {
          // Layerwise files: index 0 is the whole network measured at once.
          m.type = arch;
          m.input_shape = options.architecture_input;
          m.context = {{"architecture", arch}};
        } else {
          if (!options.resolve_layer)
            throw std::invalid_argument("layerwise row needs the architecture zoo");
          std::size_t leaf = static_cast<std::size_t>(free_text->second - 1);
          LayerInstance l = options.resolve_layer(arch, leaf);
          if (l.type != first.module) {
            throw std::invalid_argument(
                fmt::format("layer_idx {} of {} is {} ({}) in the zoo but the row says {}",
                            free_text->second, arch, l.type, l.name, first.module));
          }
          m.type = l.type;
          m.params = l.params;
          m.input_shape = l.input_shape;
          m.context = {{"architecture", arch}, {"layer_index", leaf}, {"layer_name", l.name}};
        }
      }
    } catch (const std::exception& e) {
      report(first.line, e.what());
      continue;
    }
    std::vector<double> e, t;
    for (const Row* r : kept) {
      e.push_back(r->energy_j);
      t.push_back(r->duration_s);
    }
    m.energy_j = Mean(e);
    m.energy_j_std = SampleStd(e);
    m.duration_s = Mean(t);
    m.duration_s_std = SampleStd(t);
    m.repetitions = static_cast<std::int64_t>(kept.size());
    m.macs = first.macs;
    m.meter = "codecarbon:" + options.energy_column;
    m.device = "cpu";
    m.hardware = {{"cpu", first.cpu_model}, {"cpu_count", first.cpu_count}, {"os", first.os}};
    m.provenance = {{"source", options.source},
                    {"file", path},
                    {"line", first.line},
                    {"timestamp", first.timestamp},
                    {"importer", "joulecast import codecarbon " JOULECAST_VERSION},
                    {"cleaning", log ? "slurm-log codecarbon ERROR rows dropped" : "none"}};
    result.records.push_back(std::move(m));
  }
}

}  // namespace joulecast
