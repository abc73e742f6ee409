#include "joulecast/collect/warm_up.h"

#include <gtest/gtest.h>

namespace joulecast {
namespace {

WarmUpProgress After(std::int64_t runs, double seconds, int quiet) {
  WarmUpProgress p;
  p.runs = runs;
  p.seconds = seconds;
  p.quiet_in_a_row = quiet;
  return p;
}

TEST(WarmUp, TwoRunsAndTheWarmUpSecondsAtLeast) {
  EXPECT_FALSE(WarmUpDone(After(1, 5, 1), 0.1, false));
  EXPECT_FALSE(WarmUpDone(After(2, 0.05, 2), 0.1, false));
  EXPECT_TRUE(WarmUpDone(After(2, 0.2, 0), 0.1, false));  // no heap to settle: faults or not
}

TEST(WarmUp, ASettlingHeapWaitsForTwoQuietRunsInARow) {
  EXPECT_FALSE(WarmUpDone(After(2, 0.2, 1), 0.1, true));
  EXPECT_FALSE(WarmUpDone(After(9, 3, 1), 0.1, true));
  EXPECT_TRUE(WarmUpDone(After(3, 0.3, 2), 0.1, true));
  EXPECT_TRUE(WarmUpDone(After(kMaxWarmUpRuns, 1, 0), 0.1, true));  // the run cap
}

TEST(WarmUp, TheTimeCapWaitsForFourRuns) {
  // A 30-s training step: the first two runs fault (the heap grows); the 60-s cap alone would end
  // the warm-up there, unsettled, and time the third run still growing.
  EXPECT_FALSE(WarmUpDone(After(2, 60.5, 0), 0.1, true));
  EXPECT_FALSE(WarmUpDone(After(3, 90.8, 1), 0.1, true));
  EXPECT_TRUE(WarmUpDone(After(4, 121.0, 2), 0.1, true));                  // settled
  EXPECT_TRUE(WarmUpDone(After(kMinRunsAtTimeCap, 121.0, 0), 0.1, true));  // capped, unsettled
  // Short runs meet the time cap long after four runs.
  EXPECT_TRUE(WarmUpDone(After(20, 60.0, 0), 0.1, true));
  EXPECT_FALSE(WarmUpDone(After(20, 59.9, 0), 0.1, true));
}

}  // namespace
}  // namespace joulecast
