// ToLowerAscii (io/text.h): ASCII letters lowered, every other byte kept (a closed form: A-Z are
// 0x41-0x5A, a-z 0x61-0x7A).
#include "joulecast/io/text.h"

#include <gtest/gtest.h>

namespace joulecast {
namespace {

TEST(TextTest, ToLowerAsciiLowersAsciiLettersOnly) {
  EXPECT_EQ(ToLowerAscii("ResNet18"), "resnet18");
  EXPECT_EQ(ToLowerAscii("Conv2d_3X3-[AZ]@`{"), "conv2d_3x3-[az]@`{");
  // UTF-8 bytes (here "Ä", 0xC3 0x84) pass through unchanged.
  EXPECT_EQ(ToLowerAscii("\xC3\x84"
                         "BC"),
            "\xC3\x84"
            "bc");
  EXPECT_EQ(ToLowerAscii(""), "");
}

}  // namespace
}  // namespace joulecast
