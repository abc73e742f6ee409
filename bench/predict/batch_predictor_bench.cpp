// Architecture-search throughput: whole-network totals of 1000 distinct ResNet50-sized candidates
// with models/xeon-gold-5120.json, by EstimateNetwork (the per-layer path) and by BatchPredictor
// (one Totals() call per 1000 candidates on a new predictor, 1 and 2 threads; a search scoring new
// generations of 1000 on one predictor; and Total() one candidate at a time). Target: >= 10,000
// networks/s on a 2-core machine.
//
// Candidates: torchvision's Bottleneck ResNet rebuilt from data/architectures/resnet50.json (its
// stem, its layer2.0 block as the template of every block, its head), with, drawn per candidate
// (std::mt19937_64, seed 2024): stem width {32, 48, 64}, per-stage bottleneck width
// base·{0.5, 0.625, 0.75, 0.875, 1, 1.125, 1.25} (bases 64, 128, 256, 512; rounded to a multiple of
// 8), per-stage depth base + {-1, 0, +1} (bases 3, 4, 6, 3) and input resolution
// {192, 224, 256}, at batch 1. Duplicates are redrawn, so all 1000 differ. With stem 64, widths
// 1x, depths (3, 4, 6, 3) and 224 the generator reproduces resnet50.json exactly (checked at
// start). Counters: networks/s (items_per_second), ops and distinct feature rows per network.
//
// Run: build/predict_batch_predictor_bench   (wall time; other processes on the machine count)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/tree_lowering.h"
#include "joulecast/predict/batch_predictor.h"
#include "joulecast/predict/network_estimate.h"

namespace {

using joulecast::Architecture;
using nlohmann::json;

struct Genome {
  std::int64_t stem = 64;
  std::int64_t widths[4] = {64, 128, 256, 512};
  int depths[4] = {3, 4, 6, 3};
  std::int64_t resolution = 224;
  auto Key() const {
    return std::make_tuple(stem, widths[0], widths[1], widths[2], widths[3], depths[0], depths[1],
                           depths[2], depths[3], resolution);
  }
};

// One Bottleneck block from resnet50's layer2.0 template (body conv1/bn1/relu/conv2/bn2/relu/
// conv3/bn3, shortcut downsample conv/bn), as a Sequential named `index`.
json Block(const json& tmpl, int index, std::int64_t in, std::int64_t width, std::int64_t stride) {
  json b = tmpl;
  b["name"] = std::to_string(index);
  json& res = b["layers"][0];
  json& body = res["body"];
  body[0]["in_channels"] = in;
  body[0]["out_channels"] = width;
  body[1]["num_features"] = width;
  body[3]["in_channels"] = width;
  body[3]["out_channels"] = width;
  body[3]["stride"] = stride;
  body[4]["num_features"] = width;
  body[6]["in_channels"] = width;
  body[6]["out_channels"] = 4 * width;
  body[7]["num_features"] = 4 * width;
  if (stride != 1 || in != 4 * width) {
    json& down = res["shortcut"][0]["layers"];
    down[0]["in_channels"] = in;
    down[0]["out_channels"] = 4 * width;
    down[0]["stride"] = stride;
    down[1]["num_features"] = 4 * width;
  } else {
    res["shortcut"] = json::array();
  }
  return b;
}

json Candidate(const json& resnet50, const Genome& g) {
  json j = resnet50;
  j["name"] = "resnet50-candidate";
  j["input"] = {3, g.resolution, g.resolution};
  json& layers = j["layers"];
  const json tmpl = layers[5]["layers"][0];  // layer2.0
  layers[0]["out_channels"] = g.stem;
  layers[1]["num_features"] = g.stem;
  std::int64_t in = g.stem;
  for (int s = 0; s < 4; ++s) {
    json blocks = json::array();
    for (int i = 0; i < g.depths[s]; ++i) {
      blocks.push_back(Block(tmpl, i, in, g.widths[s], i == 0 && s > 0 ? 2 : 1));
      in = 4 * g.widths[s];
    }
    layers[4 + s]["layers"] = blocks;
  }
  layers[10]["in_features"] = in;
  return j;
}

// The file as written: local names, as templates; checked once to reproduce resnet50.json.
const json& Resnet50Template() {
  static const json resnet50 = [] {
    const std::string path = joulecast::FindZooFile("resnet50");
    std::ifstream in(path);
    json j = json::parse(in);
    const json zoo = joulecast::ToJson(joulecast::LoadArchitectureFile(path));
    json check = joulecast::ToJson(joulecast::ParseArchitecture(Candidate(j, {}), "check"));
    check["name"] = zoo["name"];
    check["description"] = zoo["description"];
    if (check != zoo) throw std::logic_error("the generator does not reproduce resnet50.json");
    return j;
  }();
  return resnet50;
}

// Draws candidates until `n` not in `seen` are found (and adds them to it).
class Drawer {
 public:
  explicit Drawer(std::uint64_t seed) : rng_(seed) {}
  std::vector<Architecture> Draw(std::size_t n) {
    auto pick = [&](int k) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(k)); };
    const double mult[] = {0.5, 0.625, 0.75, 0.875, 1.0, 1.125, 1.25};
    const std::int64_t stems[] = {32, 48, 64}, resolutions[] = {192, 224, 256};
    std::vector<Architecture> out;
    while (out.size() < n) {
      Genome g;
      g.stem = stems[pick(3)];
      for (int s = 0; s < 4; ++s) {
        const double w = static_cast<double>(g.widths[s]) * mult[pick(7)];
        g.widths[s] = static_cast<std::int64_t>(w / 8 + 0.5) * 8;
        g.depths[s] += pick(3) - 1;
      }
      g.resolution = resolutions[pick(3)];
      if (!seen_.insert(g.Key()).second) continue;
      out.push_back(joulecast::ParseArchitecture(Candidate(Resnet50Template(), g), "candidate"));
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
  std::set<decltype(Genome{}.Key())> seen_;
};

const std::vector<Architecture>& Candidates() {
  static const std::vector<Architecture> candidates = Drawer(2024).Draw(1000);
  return candidates;
}

const joulecast::Profile& Profile() {
  static const joulecast::Profile p =
      joulecast::Profile::Load(std::string(JOULECAST_SOURCE_DIR) + "/models/xeon-gold-5120.json");
  return p;
}

// CPU time of the whole process (all threads): on a shared machine other processes take cores
// away, so networks per CPU-second says what a free core achieves, and wall time what was seen.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void BM_EstimateNetwork(benchmark::State& state) {
  const auto& cands = Candidates();
  const auto& profile = Profile();
  std::size_t i = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    benchmark::DoNotOptimize(joulecast::EstimateNetwork(profile, cands[i], 1).total);
    i = (i + 1) % cands.size();
  }
  state.counters["nets_per_cpu_s"] =
      static_cast<double>(state.iterations()) / (ProcessCpuSeconds() - cpu0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EstimateNetwork)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Runs `call` once per iteration on a new BatchPredictor, made and destroyed outside the timing
// (the cold case: every unit and layer new to it); returns the process CPU seconds of the calls.
template <class Call>
double ColdLoop(benchmark::State& state, const Call& call) {
  double cpu_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto bp = std::make_unique<joulecast::BatchPredictor>(Profile());
    const double cpu0 = ProcessCpuSeconds();
    state.ResumeTiming();
    call(*bp);
    state.PauseTiming();
    cpu_s += ProcessCpuSeconds() - cpu0;
    bp.reset();
    state.ResumeTiming();
  }
  return cpu_s;
}

void SetTotalsCounters(benchmark::State& state, double nets, double cpu_s,
                       const joulecast::BatchPredictor::Stats& stats) {
  state.counters["nets_per_cpu_s"] = nets / cpu_s;
  state.SetItemsProcessed(static_cast<std::int64_t>(nets));
  const double per = static_cast<double>(state.iterations()) * 1000.0;
  state.counters["ops_per_net"] = static_cast<double>(stats.operations) / per;
  state.counters["rows_per_net"] = static_cast<double>(stats.distinct_rows) / per;
  state.counters["units_per_net"] = static_cast<double>(stats.units) / per;
  state.counters["signatures_per_net"] = static_cast<double>(stats.signatures) / per;
}

// One Totals() call over all 1000 candidates per iteration, each on a new BatchPredictor (made
// outside the timing): every unit and layer is new to it, the cold case; arg: threads.
void BM_BatchTotals(benchmark::State& state) {
  const auto& cands = Candidates();
  const int threads = static_cast<int>(state.range(0));
  joulecast::BatchPredictor::Stats stats;
  const double cpu_s = ColdLoop(state, [&](const joulecast::BatchPredictor& bp) {
    benchmark::DoNotOptimize(bp.Totals(cands, 1, threads, &stats));
  });
  SetTotalsCounters(state, static_cast<double>(state.iterations()) * 1000.0, cpu_s, stats);
}
BENCHMARK(BM_BatchTotals)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// A search: each iteration scores a new generation of 1000 candidates never drawn before (drawn
// outside the timing) with one Totals() call on the same BatchPredictor, which keeps what earlier
// generations resolved. A first generation is scored before the timed ones (counter
// first_generation_nets_per_s). Random draws share less than the mutations of a real search.
void BM_BatchTotalsSearch(benchmark::State& state) {
  joulecast::BatchPredictor bp(Profile());
  Drawer drawer(77);
  {
    const std::vector<Architecture> first = drawer.Draw(1000);
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(bp.Totals(first, 1, 1));
    state.counters["first_generation_nets_per_s"] =
        1000.0 / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  joulecast::BatchPredictor::Stats stats;
  double cpu_s = 0;
  std::vector<Architecture> generation;  // the last one is freed while timing is paused
  for (auto _ : state) {
    state.PauseTiming();
    generation = drawer.Draw(1000);
    const double cpu0 = ProcessCpuSeconds();
    state.ResumeTiming();
    benchmark::DoNotOptimize(bp.Totals(generation, 1, 1, &stats));
    state.PauseTiming();
    cpu_s += ProcessCpuSeconds() - cpu0;
    state.ResumeTiming();
  }
  SetTotalsCounters(state, static_cast<double>(state.iterations()) * 1000.0, cpu_s, stats);
}
BENCHMARK(BM_BatchTotalsSearch)
    ->Iterations(8)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// Total() per candidate, cycling through the 1000: Total() keeps what it resolved between calls,
// so after the first pass every unit is known and this measures the search that scores
// candidates one at a time and meets layers it has seen (counter first_pass_us: the first 1000
// calls, when each candidate is new).
void BM_BatchTotalOneByOne(benchmark::State& state) {
  const auto& cands = Candidates();
  joulecast::BatchPredictor bp(Profile());
  const auto t0 = std::chrono::steady_clock::now();
  for (const Architecture& a : cands) benchmark::DoNotOptimize(bp.Total(a, 1));
  state.counters["first_pass_us"] =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
      static_cast<double>(cands.size());
  std::size_t i = 0;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    benchmark::DoNotOptimize(bp.Total(cands[i], 1));
    i = (i + 1) % cands.size();
  }
  state.counters["nets_per_cpu_s"] =
      static_cast<double>(state.iterations()) / (ProcessCpuSeconds() - cpu0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BatchTotalOneByOne)->Unit(benchmark::kMicrosecond)->UseRealTime();

// GraphTotals() over the 1000 candidates lowered to operator graphs beforehand (the lowering, done
// once outside the loop, is what a graph-native search would skip): the resolver path that every
// reader's graphs take; cold, as BM_BatchTotals.
void BM_GraphTotals(benchmark::State& state) {
  static const std::vector<joulecast::graph::Graph>* graphs = [] {
    auto* g = new std::vector<joulecast::graph::Graph>;
    for (const Architecture& a : Candidates()) g->push_back(joulecast::LowerArchitecture(a, 1));
    return g;
  }();
  const double cpu_s = ColdLoop(state, [&](const joulecast::BatchPredictor& bp) {
    benchmark::DoNotOptimize(bp.GraphTotals(*graphs));
  });
  const double nets = static_cast<double>(state.iterations()) * static_cast<double>(graphs->size());
  state.counters["nets_per_cpu_s"] = nets / cpu_s;
  state.SetItemsProcessed(static_cast<std::int64_t>(nets));
}
BENCHMARK(BM_GraphTotals)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
