#include "joulecast/predict/fresh_mappings.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "joulecast/arch/zoo.h"
#include "joulecast/frontends/tree_lowering.h"

namespace joulecast {
namespace {

graph::Graph Lowered(const std::string& json, std::int64_t batch) {
  return LowerArchitecture(ParseArchitecture(nlohmann::json::parse(json), "t.json"), batch);
}

TEST(FreshMappings, CountsActivationsFromGlibcsMmapCeilingUp) {
  // 8,388,608 float32 elements are 32 MiB exactly: ReLU's output counts, Flatten and Dropout are
  // views of it (nothing allocated).
  const std::string at = R"({"name": "at", "input": [8388608],
      "layers": [{"type": "ReLU"}, {"type": "Flatten"}, {"type": "Dropout", "p": 0.5}]})";
  FreshMappings f = CountFreshMappings(Lowered(at, 1));
  EXPECT_EQ(f.tensors, 1u);
  EXPECT_DOUBLE_EQ(f.bytes, 33554432);
  EXPECT_DOUBLE_EQ(f.pages(), 8192);
  EXPECT_EQ(f.largest, "0 (ReLU)");  // NodeLabel: the tree layer's name and type
  // One element less is below the threshold; at batch 2 it is over it again.
  const std::string below =
      R"({"name": "below", "input": [8388607], "layers": [{"type": "ReLU"}]})";
  EXPECT_EQ(CountFreshMappings(Lowered(below, 1)).tensors, 0u);
  EXPECT_EQ(CountFreshMappings(Lowered(below, 1)).largest, "");
  EXPECT_DOUBLE_EQ(CountFreshMappings(Lowered(below, 2)).bytes, 2.0 * 8388607 * 4);
}

TEST(FreshMappings, Vgg11AtBatch32ByHand) {
  // torchvision's vgg11 at batch 32, float32, outputs of 32 MiB (33,554,432 B) or more: conv and
  // ReLU at 64x224x224 (411,041,792 B each), the first pool 64x112x112 (102,760,448), conv and
  // ReLU at 128x112x112 (205,520,896 each), the second pool 128x56x56 (51,380,224), four at
  // 256x56x56 (102,760,448 each) and four at 512x28x28 (51,380,224 each); the third pool
  // (25,690,112) and everything after it are smaller.
  const FreshMappings f = CountFreshMappings(LowerArchitecture(LoadZooArchitecture("vgg11"), 32));
  EXPECT_EQ(f.tensors, 14u);
  EXPECT_DOUBLE_EQ(f.bytes, 2 * 411041792.0 + 102760448.0 + 2 * 205520896.0 + 51380224.0 +
                                4 * 102760448.0 + 4 * 51380224.0);
  EXPECT_DOUBLE_EQ(f.largest_bytes, 411041792);
  // Run in bfloat16, every activation is half the size: the 51,380,224-byte ones drop under the
  // threshold (25,690,112), the rest count at half: 9 tensors.
  const FreshMappings bf16 = CountFreshMappings(LowerArchitecture(LoadZooArchitecture("vgg11"), 32),
                                                graph::DType::kBFloat16);
  EXPECT_EQ(bf16.tensors, 9u);
  EXPECT_DOUBLE_EQ(bf16.bytes,
                   (2 * 411041792.0 + 102760448.0 + 2 * 205520896.0 + 4 * 102760448.0) / 2);
  // Nothing of resnet18 reaches it at batch 1 (its largest activation is 64x112x112, 3.2 MB).
  EXPECT_EQ(CountFreshMappings(LowerArchitecture(LoadZooArchitecture("resnet18"), 1)).tensors, 0u);
}

TEST(FreshMappings, SecondsAndTheNote) {
  FreshMappings f;
  f.tensors = 2;
  f.bytes = 4096.0 * 1e6;  // a million pages
  f.largest = "features.0 (conv2d)";
  f.largest_bytes = 4096.0 * 6e5;
  EXPECT_DOUBLE_EQ(FreshMappingSeconds(f, 2.5), 2.5);
  EXPECT_EQ(ErrorOf([&] { FreshMappingSeconds(f, -1); }),
            "fresh-page cost must be finite and >= 0 microseconds, got -1");
  // 2.5 s against a prediction of 10 s: 25 %.
  const auto note = FreshMappingNote(f, "vgg", 32, 10.0, 2.5);
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->rfind("vgg at batch 32 has 2 activations of 32 MiB or more (3.81 GiB a run, the "
                        "largest 2.34e+03 MiB at features.0 (conv2d)), which glibc's default "
                        "malloc maps afresh on every run",
                        0),
            0u)
      << *note;
  EXPECT_NE(note->find("MALLOC_MMAP_MAX_=0"), std::string::npos);
  EXPECT_NE(note->find("; at this machine's 2.5 us a fresh page that is at least 2.5 s a run (25 % "
                       "of the prediction)"),
            std::string::npos)
      << *note;
  // Under 1 % of the prediction: no note; with the cost unknown, or for an energy profile (no
  // seconds to compare with), the note without the share.
  EXPECT_FALSE(FreshMappingNote(f, "vgg", 32, 251.0, 2.5).has_value());
  const auto unknown = FreshMappingNote(f, "vgg", 32, 10.0, -1);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->find("at this machine's"), std::string::npos);
  const auto energy = FreshMappingNote(f, "vgg", 32, 0, 2.5);
  ASSERT_TRUE(energy.has_value());
  EXPECT_NE(energy->find("at least 2.5 s a run"), std::string::npos);
  EXPECT_EQ(energy->find("of the prediction"), std::string::npos);
  EXPECT_FALSE(FreshMappingNote(FreshMappings{}, "vgg", 1, 10.0, 2.5).has_value());
}

TEST(FreshMappings, ListNoteForCompare) {
  FreshMappings big;
  big.tensors = 3;
  big.bytes = 1024.0 * 1024 * 1024 / 2;
  EXPECT_FALSE(FreshMappingListNote({{"a", FreshMappings{}}, {"b", FreshMappings{}}}).has_value());
  EXPECT_EQ(
      FreshMappingListNote({{"a", FreshMappings{}}, {"b", big}}).value_or(""),
      "b (0.5 GiB a run) has activations of 32 MiB or more, which glibc's default malloc maps "
      "afresh on every run; the predictions hold none of it (joulecast predict NAME says "
      "more)");
  EXPECT_EQ(FreshMappingListNote({{"c", big}, {"b", big}})
                .value_or("")
                .rfind("c (0.5 GiB a run), b (0.5 GiB a run) have activations", 0),
            0u);
}

}  // namespace
}  // namespace joulecast
