#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "data_test_util.hpp"
#include "io/csv.hpp"

namespace {

using hpcb::DataError;
using hpcb::datatest::ScratchDir;
using hpcb::datatest::write_bytes;

// Writes `text` to a fresh file and returns the DataError message read_xy gives.
std::string xy_error(const ScratchDir& dir, const std::string& text) {
  const std::string path = dir.file("bad.csv");
  write_bytes(path, text);
  try {
    hpcb::csv::read_xy(path);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Csv, ReadsHeaderCrlfAndTrailingBlankLines) {
  ScratchDir dir;
  write_bytes(dir.file("a.csv"),
              "X,Y\r\n0.387717013,10.74628072\r\n4.377074095,227.1902717\r\n\r\n\n");
  const auto xy = hpcb::csv::read_xy(dir.file("a.csv"));
  EXPECT_TRUE(xy.had_header);
  ASSERT_EQ(xy.x.size(), 2u);
  EXPECT_EQ(xy.x[0], 0.387717013);  // exact: from_chars rounds correctly
  EXPECT_EQ(xy.y[0], 10.74628072);
  EXPECT_EQ(xy.x[1], 4.377074095);
  EXPECT_EQ(xy.y[1], 227.1902717);
}

TEST(Csv, ReadsWithoutHeaderOrFinalNewline) {
  ScratchDir dir;
  write_bytes(dir.file("a.csv"), "1,2\n-3.5e2, +4 \n.5,-0");
  const auto xy = hpcb::csv::read_xy(dir.file("a.csv"));
  EXPECT_FALSE(xy.had_header);
  EXPECT_EQ(xy.x, (std::vector<double>{1, -350, 0.5}));
  EXPECT_EQ(xy.y, (std::vector<double>{2, 4, -0.0}));
}

TEST(Csv, ToleratesByteOrderMarkAndGzip) {
  ScratchDir dir;
  write_bytes(dir.file("bom.csv"), "\xEF\xBB\xBFX,Y\n1,2\n");
  EXPECT_EQ(hpcb::csv::read_xy(dir.file("bom.csv")).x, std::vector<double>{1});
  hpcb::datatest::write_gzip(dir.file("a.csv.gz"), "x,y\n1,2\n3,4\n");
  EXPECT_EQ(hpcb::csv::read_xy(dir.file("a.csv.gz")).y, (std::vector<double>{2, 4}));
}

TEST(Csv, ReadsLongLines) {
  ScratchDir dir;
  std::string line;
  for (int i = 0; i < 3000; ++i) line += std::to_string(i) + ",";
  line += "3000\n";
  write_bytes(dir.file("wide.csv"), line + line);
  const auto t = hpcb::csv::read_table(dir.file("wide.csv"), 3001);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.values[3001 + 2999], 2999.0);
  EXPECT_EQ(t.line_of_row(1), 2u);
}

TEST(Csv, RejectsWrongColumnCount) {
  ScratchDir dir;
  const std::string three = xy_error(dir, "X,Y\n1,2\n1,2,3\n");
  EXPECT_NE(three.find(":3: expected 2 comma-separated fields, found 3"), std::string::npos)
      << three;
  EXPECT_NE(xy_error(dir, "1,2\n5\n").find(":2: expected 2"), std::string::npos);
  EXPECT_NE(xy_error(dir, "X;Y\n1;2\n").find(":1: expected 2"), std::string::npos);
}

TEST(Csv, RejectsNonNumericFields) {
  ScratchDir dir;
  const std::string word = xy_error(dir, "X,Y\n1,2\n3,abc\n");
  EXPECT_NE(word.find(":3: field 2 'abc' is not a number"), std::string::npos) << word;
  EXPECT_NE(xy_error(dir, "1,2\n1.5.5,2\n").find(":2: field 1"), std::string::npos);
  EXPECT_NE(xy_error(dir, "1,2\n1,\n").find(":2: field 2 '' is not a number"), std::string::npos);
  EXPECT_NE(xy_error(dir, "1,2\n0x10,2\n").find("not a number"), std::string::npos);
  EXPECT_NE(xy_error(dir, "1,2\n1 2,3\n").find("not a number"), std::string::npos);
  // A first line that is part numbers, part words is a broken row, not a header.
  EXPECT_NE(xy_error(dir, "1.5,abc\n1,2\n").find(":1: field 2"), std::string::npos);
}

TEST(Csv, RejectsNanInfinityAndOverflow) {
  ScratchDir dir;
  const std::string nan = xy_error(dir, "X,Y\n1,nan\n");
  EXPECT_NE(nan.find(":2: field 2 'nan' is not finite"), std::string::npos) << nan;
  EXPECT_NE(xy_error(dir, "X,Y\nNaN,1\n").find("not finite"), std::string::npos);
  EXPECT_NE(xy_error(dir, "X,Y\n-inf,1\n").find("not finite"), std::string::npos);
  EXPECT_NE(xy_error(dir, "X,Y\n1,Infinity\n").find("not finite"), std::string::npos);
  EXPECT_NE(xy_error(dir, "X,Y\n1e999,1\n").find("out of the range"), std::string::npos);
}

TEST(Csv, RejectsEmptyAndHeaderOnlyFiles) {
  ScratchDir dir;
  EXPECT_NE(xy_error(dir, "").find("no data rows"), std::string::npos);
  EXPECT_NE(xy_error(dir, "X,Y\n").find("no data rows"), std::string::npos);
  EXPECT_NE(xy_error(dir, "\n\r\n  \n").find("no data rows"), std::string::npos);
}

TEST(Csv, RejectsBlankLineBeforeData) {
  ScratchDir dir;
  const std::string msg = xy_error(dir, "X,Y\n1,2\n\n3,4\n");
  EXPECT_NE(msg.find(":3: blank line before more data"), std::string::npos) << msg;
}

TEST(Csv, RejectsNulBytesAndMissingFiles) {
  ScratchDir dir;
  EXPECT_NE(xy_error(dir, std::string("1,2\n3,4\0junk\n", 14)).find(":2: NUL byte"),
            std::string::npos);
  EXPECT_THROW(hpcb::csv::read_xy(dir.file("missing.csv")), DataError);
}

TEST(Csv, ErrorsNameTheFile) {
  ScratchDir dir;
  EXPECT_EQ(xy_error(dir, "1,2\n3\n").rfind(dir.file("bad.csv") + ":2:", 0), 0u);
}

// The course data, when the tests run from the repository root.
TEST(Csv, CourseRegressionFile) {
  const std::string path = "datasets/raw/regression/20K_Datapoints.csv";
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " not found from " << std::filesystem::current_path();
  }
  const auto xy = hpcb::csv::read_xy(path);
  EXPECT_TRUE(xy.had_header);
  ASSERT_EQ(xy.x.size(), 20000u);
  EXPECT_EQ(xy.x[0], 0.387717013);
  EXPECT_EQ(xy.y[0], 10.74628072);
  EXPECT_EQ(xy.x.back(), 4.16994498);
  EXPECT_EQ(xy.y.back(), 223.8078221);
  for (double x : xy.x) {
    EXPECT_GE(x, 0.0);
    EXPECT_LE(x, 10.0);
  }
}

}  // namespace
