// Sharding a campaign (collect/shard.h): K/N parsing, and that N shards cover every configuration
// exactly once, down to the records they write.
#include "joulecast/collect/shard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "joulecast/collect/collector.h"
#include "joulecast/collect/config_sampler.h"
#include "joulecast/collect/meter.h"
#include "joulecast/collect/store.h"

namespace joulecast {
namespace {

namespace fs = std::filesystem;

TEST(Shard, ParsesKOverN) {
  Shard s = ParseShard("3/8");
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.count, 8);
  EXPECT_EQ(s.ToString(), "3/8");
  s = ParseShard("0/1");
  EXPECT_EQ(s.index, 0);
  EXPECT_EQ(s.count, 1);
  s = ParseShard("2147483646/2147483647");
  EXPECT_EQ(s.index, 2147483646);
}

TEST(Shard, RejectsWhatIsNotKOverN) {
  for (const std::string bad :
       {"", "1", "/", "1/", "/2", "8/8", "9/8", "0/0", "-1/2", "+1/2", "1/-2", " 1/2", "1/2 ",
        "1 /2", "a/b", "1/2/3", "0x1/2", "1.0/2", "0/2147483648", "99999999999/2"}) {
    try {
      ParseShard(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()),
                "--shard: expected K/N with 0 <= K < N, got '" + std::string(bad) + "'");
    }
  }
}

TEST(Shard, ShardsPartitionTheEnumeration) {
  for (std::int64_t n = 1; n <= 9; ++n) {
    std::vector<int> owners(1000, 0);
    std::vector<int> per_shard(static_cast<std::size_t>(n), 0);
    for (std::int64_t k = 0; k < n; ++k) {
      const Shard s{k, n};
      for (std::int64_t i = 0; i < 1000; ++i) {
        if (s.Owns(i)) {
          ++owners[static_cast<std::size_t>(i)];
          ++per_shard[static_cast<std::size_t>(k)];
        }
      }
    }
    for (std::int64_t i = 0; i < 1000; ++i) {
      ASSERT_EQ(owners[static_cast<std::size_t>(i)], 1) << "n " << n << " i " << i;
    }
    // Interleaved: shard sizes differ by at most one.
    for (int c : per_shard) {
      EXPECT_GE(c, 1000 / n);
      EXPECT_LE(c, 1000 / n + 1);
    }
  }
}

// Three "nodes" collect the same campaign with --shard 0/3, 1/3, 2/3 into their own files: the
// union of their records is the campaign, with no configuration twice.
TEST(Shard, ShardedCollectionCoversTheCampaignOnce) {
  const fs::path dir = fs::temp_directory_path() / ("joulecast_shard_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<CollectConfig> configs = SampleConfigs("Conv2d", 40, 3);
  for (auto& c : SampleConfigs("Linear", 25, 3)) configs.push_back(c);
  // One Linear draw repeats an earlier one (a real in/out pair): measured once.
  configs = DistinctConfigs(configs, CollectSettings{});
  ASSERT_EQ(configs.size(), 64u);
  std::multiset<std::string> seen;
  std::int64_t in_shards = 0;
  for (std::int64_t k = 0; k < 3; ++k) {
    CollectSettings settings;
    settings.shard = Shard{k, 3};
    MeasurementStore store((dir / ("shard" + std::to_string(k) + ".jsonl")).string(), nullptr);
    NoMeter meter;
    CollectRun run;
    run.configs = &configs;
    run.settings = settings;
    run.store = &store;
    run.meter = &meter;
    run.measure = [](const nlohmann::json&, const PhaseFn& phase) {
      phase(0);
      phase(1);
      RunResult r;
      r.samples_s = {1e-3};
      r.runs = 1;
      return r;
    };
    const CollectStats st = RunCollection(run);
    EXPECT_EQ(st.total, 64);
    EXPECT_EQ(st.in_shard, k < 1 ? 22 : 21);
    EXPECT_EQ(st.measured + st.skipped, st.in_shard);
    in_shards += st.in_shard;
    for (const Measurement& m : ReadMeasurements(store.path())) {
      seen.insert(ConfigKey(m));
      EXPECT_EQ(m.provenance["shard"], settings.shard.ToString());
    }
  }
  EXPECT_EQ(in_shards, 64);
  std::set<std::string> all;
  for (const auto& c : configs) all.insert(ConfigKey(RecordSkeleton(c, CollectSettings{})));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all);
  EXPECT_EQ(seen.size(), all.size());  // nothing measured by two shards
  fs::remove_all(dir);
}

}  // namespace
}  // namespace joulecast
