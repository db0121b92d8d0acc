// Reader for small numeric CSV tables, plain or gzip-compressed: the regression
// data of the COP 6526 course assignment (`X,Y` then rows of two numbers;
// datasets/PROVENANCE.md) and scikit-learn's digits
// (65 integers a row). Accepted: an optional header line (a first line none of
// whose fields is a number), a UTF-8 byte-order mark, CRLF line ends, spaces
// around fields, and blank lines at the end. Everything else (a wrong field count,
// a non-numeric field, NaN or infinity, a blank line before data, no data rows)
// throws DataError naming the file and the line number.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hpcb::csv {

struct Table {
  std::size_t cols = 0;
  std::vector<std::string> header;  // empty when the file has none
  std::vector<double> values;       // rows x cols, row-major

  std::size_t rows() const { return cols == 0 ? 0 : values.size() / cols; }
  // 1-based line number of data row r in the file, for error messages.
  std::size_t line_of_row(std::size_t r) const { return r + 1 + (header.empty() ? 0 : 1); }
};

// Reads a table whose every line must have exactly `cols` comma-separated fields.
Table read_table(const std::string& path, std::size_t cols);

// Two columns: x = the first, y = the second (header names, if any, are ignored).
struct XY {
  std::vector<double> x;
  std::vector<double> y;
  bool had_header = false;
};
XY read_xy(const std::string& path);

}  // namespace hpcb::csv
