// Import of CodeCarbon CSV files in the layout of the getzner2023 data set: one row per ~30 s
// window in which a layer (or a whole network) ran `forward_passes` forward passes of one batch,
// the layer configuration packed into `project_name`, e.g.
//   module:Conv2d,rep_no:1,macs:218534484375,batch_size:123,image_size:127,kernel_size:7,
//   in_channels:80,out_channels:29,stride:1,padding:2,freeText:,forward_passes:6
//
// Output: one Measurement per configuration (repetitions averaged), in PyTorch's argument names:
//   energy_j   = mean over repetitions of energy_column[kWh] / forward_passes * 3.6e6  (J per pass)
//   duration_s = mean over repetitions of duration[s] / forward_passes                   (s per
//   pass)
// Rows spoiled according to the Slurm log (see slurm_log.h) are dropped before averaging. Rows of
// layerwise architecture files carry no layer parameters: they are resolved through `resolve_layer`
// (architecture name, 0-based leaf index) -> the zoo's layer; layer_idx 0 there is the whole
// network, recorded with the architecture's name as type.
//
// Malformed rows are reported as "path:line: reason" and skipped, or thrown (std::runtime_error)
// with `strict`. A missing file or missing column always throws.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/arch/layer.h"
#include "joulecast/io/measurement.h"
#include "joulecast/io/slurm_log.h"

namespace joulecast {

struct CodeCarbonImportOptions {
  std::string energy_column = "cpu_energy";  // RAPL package energy; see data/README.md
  bool strict = false;                       // throw on the first malformed row instead of skipping
  std::string source;                        // provenance.source of every record
  // Resolves a leaf of a zoo network; required only for layerwise architecture rows.
  std::function<LayerInstance(const std::string& architecture, std::size_t leaf_index)>
      resolve_layer;
  // Input shape of whole-network rows (the getzner2023 networks all take 3x224x224 images).
  Shape architecture_input = {3, 224, 224};
};

struct CodeCarbonImportResult {
  std::vector<Measurement> records;
  std::vector<std::string> warnings;  // "path:line: reason" per skipped row
  std::size_t rows = 0;
  std::size_t rows_dropped_by_log = 0;
  std::size_t rows_malformed = 0;
};

// `log` may be null (no cleaning). Appends to `result`.
void ImportCodeCarbonFile(const std::string& path, const SlurmLog* log,
                          const CodeCarbonImportOptions& options, CodeCarbonImportResult& result);
// The same for CSV text from a stream; `name` stands for the path in error messages.
void ImportCodeCarbon(std::istream& in, const std::string& name, const SlurmLog* log,
                      const CodeCarbonImportOptions& options, CodeCarbonImportResult& result);

// The getzner2023 convention for one layer configuration given as "key:value" pairs from
// project_name: returns the layer in PyTorch terms. Throws std::invalid_argument naming the field.
LayerInstance LayerFromGetznerFields(const std::string& module,
                                     const std::vector<std::pair<std::string, std::string>>& fields,
                                     std::int64_t* batch_size);

}  // namespace joulecast
