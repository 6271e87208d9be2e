#include "platform/common/text_codec.h"

#include <gtest/gtest.h>

namespace vncd::platform {
namespace {

TEST(TextCodec, Latin1ToUtf8) {
  EXPECT_EQ(latin1_to_utf8("plain ASCII\n"), "plain ASCII\n");
  EXPECT_EQ(latin1_to_utf8("caf\xe9 \xff\xa0"), "caf\xc3\xa9 \xc3\xbf\xc2\xa0");
  EXPECT_EQ(latin1_to_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(TextCodec, Utf8ToLatin1) {
  EXPECT_EQ(utf8_to_latin1("caf\xc3\xa9 \xc3\xbf"), "caf\xe9 \xff");
  EXPECT_EQ(utf8_to_latin1("\xe2\x82\xac 5"), "? 5");    // Euro sign: not in Latin-1.
  EXPECT_EQ(utf8_to_latin1("\xf0\x9f\x98\x80!"), "?!");  // Emoji: one '?'.
}

TEST(TextCodec, MalformedUtf8BecomesQuestionMarks) {
  EXPECT_EQ(utf8_to_latin1("\x80x"), "?x");               // Stray continuation byte.
  EXPECT_EQ(utf8_to_latin1("\xc3"), "?");                 // Truncated at the end.
  EXPECT_EQ(utf8_to_latin1("\xc3x"), "?x");               // Missing continuation.
  EXPECT_EQ(utf8_to_latin1("\xc0\xa9"), "??");            // Overlong form of ')'.
  EXPECT_EQ(utf8_to_latin1("\xff\xfe"), "??");            // Never valid in UTF-8.
  EXPECT_EQ(utf8_to_latin1("\xf4\x90\x80\x80"), "????");  // Above U+10FFFF.
}

TEST(TextCodec, RoundTripsEveryLatin1Byte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(utf8_to_latin1(latin1_to_utf8(all)), all);
}

}  // namespace
}  // namespace vncd::platform
