#include "joulecast/collect/repeatability.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace joulecast {
namespace {

Measurement Relu(double seconds, std::int64_t batch, double iqr) {
  Measurement m;
  m.type = "ReLU";
  m.params = {{"inplace", false}};
  m.batch_size = batch;
  m.input_shape = {16, 8, 8};
  m.mode = "forward";
  m.device = "cpu";
  m.dtype = "float32";
  m.duration_s = seconds;
  m.context = {{"threads", 1}, {"spread", {{"iqr_over_median", iqr}}}};
  return m;
}

TEST(Quantile, InterpolatesBetweenOrderStatistics) {
  // Sorted 1 2 3 4: position q (n - 1) = 0.5 x 3 = 1.5 -> 2.5; 0.9 x 3 = 2.7 -> 3.7.
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.9), 3.7);
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.9), 7);
  EXPECT_THROW(Quantile({}, 0.5), std::invalid_argument);
}

TEST(Repeatability, KnownValues) {
  // Batch 1 measured three times: 0.010, 0.011, 0.009 s -> median 0.010, range 0.002 / 0.010 = 20 %,
  // mean 0.010, sample std sqrt((0 + 1e-6 + 1e-6) / 2) = 0.001 -> CV 10 %.
  // Batch 2 twice: 0.020 and 0.030 -> median 0.025, range 0.010 / 0.025 = 40 %, mean 0.025,
  // std sqrt((25e-6 + 25e-6) / 1) = 0.00707 -> CV 28.28 %. Batch 4 once: not repeated.
  std::vector<Measurement> rs = {Relu(0.010, 1, 0.01), Relu(0.011, 1, 0.02), Relu(0.009, 1, 0.03),
                                 Relu(0.020, 2, 0.04), Relu(0.030, 2, 0.05), Relu(0.5, 4, 0.5)};
  RepeatabilityReport r = AnalyseRepeatability(rs);
  EXPECT_EQ(r.records, 6u);
  ASSERT_EQ(r.repeated.size(), 2u);
  const RepeatedConfig& b1 = r.repeated[0].label < r.repeated[1].label ? r.repeated[0]
                                                                       : r.repeated[1];
  const RepeatedConfig& b2 = &b1 == &r.repeated[0] ? r.repeated[1] : r.repeated[0];
  EXPECT_EQ(b1.runs, 3u);
  EXPECT_NEAR(b1.median_s, 0.010, 1e-15);
  EXPECT_NEAR(b1.rel_range, 0.2, 1e-12);
  EXPECT_NEAR(b1.cv, 0.1, 1e-12);
  EXPECT_EQ(b2.runs, 2u);
  EXPECT_NEAR(b2.rel_range, 0.4, 1e-12);
  EXPECT_NEAR(b2.cv, std::sqrt(50e-6) / 0.025, 1e-12);
  EXPECT_NE(b1.label.find("b1"), std::string::npos);
  // Within: iqr values 0.01 .. 0.05 and 0.5 -> median of six = (0.03 + 0.04) / 2, max 0.5.
  EXPECT_EQ(r.within.n, 6u);
  EXPECT_NEAR(r.within.median, 0.035, 1e-12);
  EXPECT_DOUBLE_EQ(r.within.max, 0.5);
  EXPECT_EQ(r.between_rel_range.n, 2u);
  EXPECT_NEAR(r.between_rel_range.max, 0.4, 1e-12);
  auto j = r.ToJson();
  EXPECT_EQ(j["between"]["configs"].size(), 2u);
  EXPECT_NEAR(j["within_iqr_over_median"]["median"].get<double>(), 0.035, 1e-12);
}

TEST(Repeatability, ThreadsAndModeSeparateConfigurations) {
  Measurement a = Relu(0.010, 1, 0.01), b = Relu(0.020, 1, 0.01);
  b.context["threads"] = 2;
  Measurement c = Relu(0.030, 1, 0.01);
  c.mode = "train_step";
  RepeatabilityReport r = AnalyseRepeatability({a, b, c});
  EXPECT_TRUE(r.repeated.empty());
  EXPECT_EQ(r.between_cv.n, 0u);
}

TEST(Repeatability, NoRecordsIsAnError) {
  EXPECT_THROW(AnalyseRepeatability({}), std::invalid_argument);
}

}  // namespace
}  // namespace joulecast
