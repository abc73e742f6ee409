// joulecast_trainlog: trains a small CNN with libtorch on the CPU and writes a per-epoch training
// log in the CSV format `joulecast extrapolate` reads (io/training_log.h), so that the online
// estimators can be checked against a complete run of this machine.
//
// Network: VGG11 in its CIFAR form (eight 3x3 convolutions with padding 1 and ReLU, five 2x2
// max-pools, one linear classifier; widths 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M,
// Linear(512, 10)) with every channel width divided by `--width-divisor` (default 4: 16 ... 128). Data: `--samples` random inputs of CIFAR shape 3x32x32
// (standard normal) with random labels in 0..9, drawn once from `--seed` and reused every epoch
// (shuffled per epoch). SGD, learning rate 0.01, momentum 0.9, cross-entropy loss.
//
// Output columns: epoch (1-based), duration_s (wall time of the epoch's forward, backward and
// optimizer steps, steady clock), cpu_s (CPU time this process used in the same span,
// CLOCK_PROCESS_CPUTIME_ID: on a core shared with other jobs the wall time also counts the time
// they ran, the CPU time does not), loss (mean training loss of the epoch), and energy_j only when
// an Intel RAPL package counter (/sys/class/powercap/intel-rapl:0/energy_uj) is readable: the
// counter's difference over the epoch (wrap-around corrected with max_energy_range_uj), which
// covers the whole package, not this process alone.
//
// Usage: joulecast_trainlog [--epochs 30] [--samples 2048] [--batch-size 64] [--threads 1]
//                           [--width-divisor 4] [--seed 0] -o LOG.csv
// Errors: one line on stderr, exit status 1 ("--epochs must be >= 1, got 0").
#include <torch/torch.h>

#include <time.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Options {
  long epochs = 30, samples = 2048, batch_size = 64, threads = 1, width_divisor = 4;
  std::uint64_t seed = 0;
  std::string output;
};

long ParseInteger(const std::string& flag, const std::string& text, long min) {
  std::size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty())
    throw std::runtime_error(flag + ": expected an integer, got '" + text + "'");
  if (v < min)
    throw std::runtime_error(flag + " must be >= " + std::to_string(min) + ", got " + text);
  return v;
}

long ParsePositive(const std::string& flag, const std::string& text) {
  return ParseInteger(flag, text, 1);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw std::runtime_error(a + ": missing value");
    const std::string v = argv[++i];
    if (a == "--epochs") {
      o.epochs = ParsePositive(a, v);
    } else if (a == "--samples") {
      o.samples = ParsePositive(a, v);
    } else if (a == "--batch-size") {
      o.batch_size = ParsePositive(a, v);
    } else if (a == "--width-divisor") {
      o.width_divisor = ParsePositive(a, v);
      if (64 % o.width_divisor != 0)
        throw std::runtime_error("--width-divisor must divide 64 (1, 2, 4, ...), got " + v);
    } else if (a == "--threads") {
      o.threads = ParsePositive(a, v);
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint64_t>(ParseInteger(a, v, 0));
    } else if (a == "-o" || a == "--output") {
      o.output = v;
    } else {
      throw std::runtime_error("unknown option '" + a + "'");
    }
  }
  if (o.output.empty()) throw std::runtime_error("-o LOG.csv is required");
  return o;
}

// The CIFAR form of VGG11 with channel widths / `divisor`.
struct SmallVggImpl : torch::nn::Module {
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear classifier{nullptr};

  explicit SmallVggImpl(int divisor) {
    const std::vector<int> cfg{64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};  // 0: pool
    torch::nn::Sequential seq;
    int in = 3;
    for (int c : cfg) {
      c /= divisor;
      if (c == 0) {
        seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      } else {
        seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, c, 3).padding(1)));
        seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
        in = c;
      }
    }
    features = register_module("features", seq);
    classifier = register_module("classifier", torch::nn::Linear(in, 10));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = features->forward(x);
    return classifier->forward(x.flatten(1));
  }
};
TORCH_MODULE(SmallVgg);

// CPU time of this process (all its threads), seconds.
double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// RAPL package energy in microjoules, when readable.
std::optional<double> ReadRaplUj(const std::string& file) {
  std::ifstream in(file);
  double v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

int Run(const Options& o) {
  torch::set_num_threads(static_cast<int>(o.threads));
  torch::manual_seed(o.seed);
  const std::string rapl = "/sys/class/powercap/intel-rapl:0/energy_uj";
  const std::optional<double> rapl_range =
      ReadRaplUj("/sys/class/powercap/intel-rapl:0/max_energy_range_uj");
  const bool meter = ReadRaplUj(rapl).has_value() && rapl_range.has_value();
  if (!meter)
    std::cerr << "joulecast_trainlog: no readable RAPL counter (" << rapl
              << "): the log has no energy column\n";

  const torch::Tensor x = torch::randn({o.samples, 3, 32, 32});
  const torch::Tensor y = torch::randint(0, 10, {o.samples}, torch::kLong);
  SmallVgg net(static_cast<int>(o.width_divisor));
  net->train();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));

  std::ofstream out(o.output);
  if (!out) throw std::runtime_error(o.output + ": cannot open for writing");
  out << "epoch,duration_s,cpu_s,loss" << (meter ? ",energy_j" : "") << "\n";
  for (long epoch = 1; epoch <= o.epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(o.samples, torch::kLong);
    const std::optional<double> e0 = meter ? ReadRaplUj(rapl) : std::nullopt;
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = ProcessCpuSeconds();
    double loss_sum = 0;
    long batches = 0;
    for (long start = 0; start < o.samples; start += o.batch_size) {
      const long end = std::min(o.samples, start + o.batch_size);
      const torch::Tensor idx = order.slice(0, start, end);
      opt.zero_grad();
      const torch::Tensor loss =
          torch::nn::functional::cross_entropy(net->forward(x.index_select(0, idx)),
                                               y.index_select(0, idx));
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = ProcessCpuSeconds() - cpu0;
    out << epoch << "," << seconds << "," << cpu << "," << loss_sum / static_cast<double>(batches);
    if (meter) {
      const std::optional<double> e1 = ReadRaplUj(rapl);
      double uj = e1.value_or(0) - e0.value_or(0);
      if (uj < 0) uj += *rapl_range;
      out << "," << uj / 1e6;
    }
    out << "\n" << std::flush;
    std::cerr << "epoch " << epoch << ": " << seconds << " s wall, " << cpu << " s CPU\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(ParseArgs(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "joulecast_trainlog: error: " << e.what() << "\n";
    return 1;
  }
}
