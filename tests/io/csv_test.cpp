#include "joulecast/io/csv.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace joulecast {
namespace {

std::vector<CsvRecord> ReadAll(const std::string& text, const std::string& name = "t.csv") {
  std::istringstream in(text);
  CsvReader r(in, name);
  std::vector<CsvRecord> out;
  while (auto rec = r.Next()) out.push_back(*rec);
  return out;
}

using Fields = std::vector<std::string>;

TEST(CsvReader, PlainFields) {
  auto recs = ReadAll("a,b,c\n1,2,3\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(recs[1].fields, (Fields{"1", "2", "3"}));
  EXPECT_EQ(recs[0].line, 1u);
  EXPECT_EQ(recs[1].line, 2u);
}

TEST(CsvReader, EmptyFieldsAreKept) {
  auto recs = ReadAll(",x,,\n");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].fields, (Fields{"", "x", "", ""}));
}

TEST(CsvReader, LastLineWithoutNewline) {
  auto recs = ReadAll("a,b\n1,2");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].fields, (Fields{"1", "2"}));
}

TEST(CsvReader, QuotedCommasAndDoubledQuotes) {
  // The getzner2023 project_name column: a quoted field full of commas.
  auto recs = ReadAll(
      "ts,\"module:Conv2d,rep_no:1,freeText:,forward_passes:6\",x\n"
      "\"say \"\"hi\"\", ok\",\"\",\"\"\"\"\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields,
            (Fields{"ts", "module:Conv2d,rep_no:1,freeText:,forward_passes:6", "x"}));
  // "say ""hi"", ok" -> say "hi", ok ; "" -> empty ; """" -> one quote
  EXPECT_EQ(recs[1].fields, (Fields{"say \"hi\", ok", "", "\""}));
}

TEST(CsvReader, CrlfLineEndings) {
  auto recs = ReadAll("a,b\r\n\"x,y\",2\r\n3,4\r\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].fields, (Fields{"a", "b"}));
  EXPECT_EQ(recs[1].fields, (Fields{"x,y", "2"}));
  EXPECT_EQ(recs[2].fields, (Fields{"3", "4"}));  // no stray '\r' in the last field
  EXPECT_EQ(recs[2].line, 3u);
}

TEST(CsvReader, MultiLineQuotedFieldKeepsLineNumbers) {
  // line 1: header; lines 2-4: one record whose second field spans three lines; line 5: next.
  auto recs = ReadAll("h1,h2\nr1,\"first\nsecond\nthird\",end\nr2,x\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_EQ(recs[1].fields, (Fields{"r1", "first\nsecond\nthird", "end"}));
  EXPECT_EQ(recs[2].line, 5u);
  EXPECT_EQ(recs[2].fields, (Fields{"r2", "x"}));
}

TEST(CsvReader, MultiLineQuotedFieldWithCrlf) {
  auto recs = ReadAll("a,\"x\r\ny\"\r\nb,c\r\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields, (Fields{"a", "x\ny"}));
  EXPECT_EQ(recs[1].line, 3u);
}

TEST(CsvReader, EmptyLinesAreSkippedButCounted) {
  auto recs = ReadAll("a\n\n\r\nb\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].fields, (Fields{"b"}));
  EXPECT_EQ(recs[1].line, 4u);
}

TEST(CsvReader, UnterminatedQuoteNamesTheRecordStartLine) {
  std::istringstream in("h\nok\n\"never closed,\nmore text\n");
  CsvReader r(in, "data/x.csv");
  ASSERT_TRUE(r.Next());
  ASSERT_TRUE(r.Next());
  try {
    r.Next();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "data/x.csv:3: unterminated quoted field");
  }
}

TEST(CsvReader, UnterminatedQuoteOnLastLine) {
  std::istringstream in("\"abc");
  CsvReader r(in, "f.csv");
  try {
    r.Next();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "f.csv:1: unterminated quoted field");
  }
}

// Fuzz findings (fuzz/regressions/{codecarbon,zeus}_csv_fuzz/): a field that was not UTF-8 got
// into an imported record and only failed when the record was written as JSON, with nlohmann's
// message and no line. The reader now refuses it on the line where it is.
TEST(CsvReader, InvalidUtf8NamesLineFieldAndByte) {
  std::istringstream in("a,b,c\n1,x\xC5\xC5,3\n");
  CsvReader r(in, "cc.csv");
  ASSERT_TRUE(r.Next());
  try {
    r.Next();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cc.csv:2: field 2 is not valid UTF-8 (byte 0xC5 at offset 1)");
  }
}

TEST(CsvReader, InvalidUtf8InsideMultiLineQuotedFieldNamesItsStartLine) {
  std::istringstream in("\"one\ntwo \xFF\",z\n");
  CsvReader r(in, "z.csv");
  try {
    r.Next();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "z.csv:1: field 1 is not valid UTF-8 (byte 0xFF at offset 8)");
  }
}

TEST(InvalidUtf8At, AcceptsUtf8AndFindsTheFirstBadByte) {
  EXPECT_EQ(InvalidUtf8At(""), std::string::npos);
  EXPECT_EQ(InvalidUtf8At("Intel(R) Xeon(R) Gold 5120"), std::string::npos);
  EXPECT_EQ(InvalidUtf8At("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x8B"), std::string::npos);
  EXPECT_EQ(InvalidUtf8At("ab\xC5"), 2u);                 // truncated 2-byte sequence
  EXPECT_EQ(InvalidUtf8At("a\xC0\xAF"), 1u);              // overlong '/'
  EXPECT_EQ(InvalidUtf8At("\xED\xA0\x80"), 0u);           // UTF-16 surrogate U+D800
  EXPECT_EQ(InvalidUtf8At("ok\xF4\x90\x80\x80"), 2u);     // above U+10FFFF
  EXPECT_EQ(InvalidUtf8At("\xE2\x82"), 0u);               // truncated 3-byte sequence
  EXPECT_EQ(InvalidUtf8At("x\xE2\x82\x41"), 1u);          // bad continuation byte
  EXPECT_EQ(InvalidUtf8At("\x80"), 0u);                   // lone continuation byte
}

TEST(CsvHeader, IndexAndMissingColumn) {
  CsvHeader h(Fields{"timestamp", "project_name", "duration"});
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.Index("duration", "f.csv"), 2u);
  EXPECT_TRUE(h.Has("project_name"));
  EXPECT_FALSE(h.Has("cpu_energy"));
  try {
    h.Index("cpu_energy", "f.csv");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "f.csv: missing column 'cpu_energy'");
  }
}

TEST(ParseDouble, AcceptsNumbers) {
  EXPECT_DOUBLE_EQ(ParseDouble("0.0007268241467366", "x"), 0.0007268241467366);
  EXPECT_DOUBLE_EQ(ParseDouble("-2.5e-3", "x"), -0.0025);
  EXPECT_DOUBLE_EQ(ParseDouble("42", "x"), 42.0);
  EXPECT_DOUBLE_EQ(ParseDouble("1e300", "x"), 1e300);
}

TEST(ParseDouble, RejectsGarbage) {
  for (const char* bad :
       {"", "abc", "1.5x", " ", "1e999", "-1e999", "nan", "NaN", "inf", "-inf", "1,5"}) {
    EXPECT_THROW(ParseDouble(bad, "cpu_energy"), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(ParseDouble, MessageNamesTheField) {
  try {
    ParseDouble("abc", "cpu_energy");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("cpu_energy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("abc"), std::string::npos) << e.what();
  }
  try {
    ParseDouble("", "duration");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("duration"), std::string::npos) << e.what();
  }
}

TEST(ParseInt, AcceptsIntegersAndIntegralFloats) {
  EXPECT_EQ(ParseInt("3", "x"), 3);
  EXPECT_EQ(ParseInt("-17", "x"), -17);
  EXPECT_EQ(ParseInt("3.0", "x"), 3);  // Python writes integral floats this way
  EXPECT_EQ(ParseInt("218534484375", "x"), 218534484375LL);
  EXPECT_EQ(ParseInt("1086294141180.0", "x"), 1086294141180LL);
}

TEST(ParseInt, RejectsNonIntegers) {
  for (const char* bad :
       {"", "3.5", "abc", "1e999", "nan", "inf", "3x", "99999999999999999999999"}) {
    EXPECT_THROW(ParseInt(bad, "batch_size"), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(ParseInt, MessageNamesTheField) {
  try {
    ParseInt("3.5", "batch_size");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3.5"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace joulecast
