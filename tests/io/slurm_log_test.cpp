#include "joulecast/io/slurm_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

namespace joulecast {
namespace {

namespace fs = std::filesystem;

const std::string kData = JOULECAST_TEST_DATA;

// A real error line from raw/conv2d/00_conv2d-slurm-log.out (line 31).
const std::string kErr =
    "[codecarbon ERROR @ 03:43:24] In RAPLFile : Current energy value "
    "(Energy(kWh=8.23327186439e-06)) is lower "
    "than previous value (Energy(kWh=0.07279148933508932)) ! Source file : "
    "/sys/class/powercap/intel-rapl/intel-rapl:0/energy_uj";

class SlurmLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("joulecast_slurm_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path dir_;
};

std::string Row(int config, int rep) {
  return std::to_string(config) + "/" + std::to_string(rep) +
         " (config_no/rep_no) "
         "[batch_size:123,image_size:127,kernel_size:7,in_channels:80,out_channels:29,"
         "stride:1,padding:2,freeText:] (0.0% done)\n";
}

TEST_F(SlurmLogTest, PerRowFormatMarksOneRow) {
  // Errors while 1/2 runs -> bad row 1*3 + 2 - 1 = 4; while 3/3 runs -> 3*3 + 3 - 1 = 11.
  std::string text =
      "Starting data-collection for conv2d...\nTotal number of iterations:  12\nDoing random "
      "configs...\n\n";
  for (int c = 0; c < 4; ++c) {
    for (int r = 1; r <= 3; ++r) {
      text += Row(c, r);
      if ((c == 1 && r == 2) || (c == 3 && r == 3)) text += kErr + "\n" + kErr + "\n";
    }
  }
  SlurmLog log = ReadSlurmLog(Write("a.out", text));
  ASSERT_EQ(log.sections.size(), 1u);
  const SlurmSection& s = log.sections[0];
  EXPECT_EQ(s.name, "conv2d");
  EXPECT_EQ(s.bad_rows, (std::set<std::size_t>{4, 11}));
  EXPECT_TRUE(s.bad_configs.empty());
  EXPECT_EQ(s.error_lines, 4u);
}

TEST_F(SlurmLogTest, RealFixtureLog) {
  // tests/data/codecarbon/conv2d_2configs-slurm-log.out: the first lines of the real
  // 00_conv2d-slurm-log.out with one real error line placed after "1/2": row 1*3 + 2 - 1 = 4.
  SlurmLog log = ReadSlurmLog(kData + "/codecarbon/conv2d_2configs-slurm-log.out");
  ASSERT_EQ(log.sections.size(), 1u);
  EXPECT_EQ(log.sections[0].name, "conv2d");
  EXPECT_EQ(log.sections[0].bad_rows, (std::set<std::size_t>{4}));
  EXPECT_EQ(log.sections[0].error_lines, 1u);
  EXPECT_EQ(log.path, kData + "/codecarbon/conv2d_2configs-slurm-log.out");
}

TEST_F(SlurmLogTest, ProgressBarWithCarriageReturns) {
  // tqdm redraws the bar with '\r'; the error is appended to a bar line showing 2/500, i.e. while
  // configuration 2 (0-based) runs.
  const std::string c0 = "current config:[batch_size:52,image_size:30,freeText:]:";
  const std::string c1 = "current config:[batch_size:28,image_size:158,freeText:]:";
  const std::string c2 = "current config:[batch_size:130,image_size:209,freeText:]:";
  std::string text = "Starting data-collection for conv2d...\nDoing random configs...\n\n";
  text += "  0%|          | 0/500 [00:00<?, ?it/s]\r";
  text += c0 + "   0%|          | 0/500 [00:00<?, ?it/s]\r";
  text += c0 + "   0%|          | 1/500 [01:44<14:25:58, 104.12s/it]\r";
  text += c1 + "   0%|          | 1/500 [01:44<14:25:58, 104.12s/it]\r";
  text += c1 + "   0%|          | 2/500 [03:28<14:27:45, 104.55s/it]\r";
  text += c2 + "   0%|          | 2/500 [03:28<14:27:45, 104.55s/it]" + kErr + "\n";
  text += kErr + "\n" + kErr + "\n";
  text += c2 + "   1%|          | 3/500 [05:12<14:20:00, 104.00s/it]\r";
  text += c2 + "   1%|          | 3/500 [05:12<14:20:00, 104.00s/it]\n";
  SlurmLog log = ReadSlurmLog(Write("bar.out", text));
  ASSERT_EQ(log.sections.size(), 1u);
  EXPECT_EQ(log.sections[0].bad_configs, (std::set<std::size_t>{2}));
  EXPECT_TRUE(log.sections[0].bad_rows.empty());
  EXPECT_EQ(log.sections[0].error_lines, 3u);
}

TEST_F(SlurmLogTest, ProgressBarFixtureWithoutCarriageReturns) {
  // The published logs have one bar per line; the fixture's error follows the bar "1/2".
  SlurmLog log = ReadSlurmLog(kData + "/codecarbon/conv2d_2configs-bar-slurm-log.out");
  ASSERT_EQ(log.sections.size(), 1u);
  EXPECT_EQ(log.sections[0].bad_configs, (std::set<std::size_t>{1}));
  EXPECT_EQ(log.sections[0].error_lines, 2u);
}

TEST_F(SlurmLogTest, MultipleSectionsAndSectionFor) {
  const std::string bar0 =
      "current config:[batch_size:173,input_size:4595816,freeText:]:   0%|          | 0/500 "
      "[00:00<?, ?it/s]\n";
  const std::string bar4 =
      "current config:[batch_size:5,input_size:99,freeText:]:   1%|          | 4/500 "
      "[06:40<18:17:43, 132.52s/it]";
  std::string text;
  text += "Starting data-collection for relu...\nDoing random configs...\n\n" + bar0;
  text += "Starting data-collection for sigmoid...\nDoing random configs...\n\n" + bar0 + bar4 +
          kErr + "\n";
  text += "Starting data-collection for tanh...\nDoing random configs...\n\n" + bar0;
  SlurmLog log = ReadSlurmLog(Write("multi.out", text));
  ASSERT_EQ(log.sections.size(), 3u);
  EXPECT_EQ(log.sections[0].name, "relu");
  EXPECT_EQ(log.sections[1].name, "sigmoid");
  EXPECT_EQ(log.sections[2].name, "tanh");
  EXPECT_TRUE(log.sections[0].bad_configs.empty());
  EXPECT_EQ(log.sections[1].bad_configs, (std::set<std::size_t>{4}));
  EXPECT_TRUE(log.sections[2].bad_configs.empty());
  EXPECT_EQ(&log.SectionFor("Sigmoid"), &log.sections[1]);  // case-insensitive
  EXPECT_EQ(&log.SectionFor("ReLU"), &log.sections[0]);
  EXPECT_EQ(&log.SectionFor("tanh"), &log.sections[2]);
  try {
    log.SectionFor("Softmax");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(log.path), std::string::npos) << msg;
    EXPECT_NE(msg.find("Softmax"), std::string::npos) << msg;
    EXPECT_NE(msg.find("relu, sigmoid, tanh"), std::string::npos) << msg;
  }
}

TEST_F(SlurmLogTest, SingleSectionServesAnyModule) {
  // layerwise architecture files have module VGG/AlexNet/Conv2d... but one "architectures" section.
  SlurmLog log =
      ReadSlurmLog(Write("one.out", "Starting data-collection for architectures...\n" + Row(0, 1)));
  EXPECT_EQ(log.SectionFor("VGG").name, "architectures");
  EXPECT_EQ(log.SectionFor("Conv2d").name, "architectures");
}

TEST_F(SlurmLogTest, ErrorBeforeAnyProgressLine) {
  // line 1: section start, line 2: text, line 3: the error.
  std::string p =
      Write("early.out", "Starting data-collection for conv2d...\nDoing random configs...\n" +
                             kErr + "\n" + Row(0, 1));
  try {
    ReadSlurmLog(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p + ":3: error before any progress line");
  }
}

TEST_F(SlurmLogTest, ErrorAfterANewSectionStartBeforeItsFirstProgressLine) {
  // The error follows "Starting ... sigmoid" but precedes sigmoid's first bar: it cannot belong to
  // relu's last configuration (a different CSV), so it is unattributable (line 4).
  std::string p = Write("sect.out", "Starting data-collection for relu...\n" + Row(0, 1) +
                                        "Starting data-collection for sigmoid...\n" + kErr + "\n");
  try {
    ReadSlurmLog(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p + ":4: error before any progress line");
  }
}

TEST_F(SlurmLogTest, MissingFile) {
  std::string p = (dir_ / "nope.out").string();
  try {
    ReadSlurmLog(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p + ": cannot open file");
  }
}

TEST_F(SlurmLogTest, CorruptNumbersAreReportedWithPathAndLine) {
  // A progress line whose config number does not fit any integer type (a corrupted log): the
  // error must be a std::runtime_error naming path:line like every other log error.
  std::string p =
      Write("huge.out",
            "Starting data-collection for conv2d...\n"
            "99999999999999999999999/1 (config_no/rep_no) [batch_size:1] (0.0% done)\n" +
                kErr + "\n");
  try {
    ReadSlurmLog(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(p + ":2: ", 0), 0u) << e.what();
  } catch (const std::exception& e) {
    FAIL() << "not a std::runtime_error: " << e.what();
  }
}

TEST_F(SlurmLogTest, RepNoZeroIsRejected) {
  std::string p = Write("rep0.out", "Starting data-collection for conv2d...\n" + Row(0, 0));
  try {
    ReadSlurmLog(p);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p + ":2: rep_no 0 in progress line");
  }
}

TEST_F(SlurmLogTest, LogWithoutSection) {
  std::string p = Write("nosect.out", Row(0, 1));
  EXPECT_THROW(ReadSlurmLog(p), std::runtime_error);
}

}  // namespace
}  // namespace joulecast
