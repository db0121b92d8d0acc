#include "io/csv.hpp"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>

#include "common/error.hpp"

namespace hpcb::csv {

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

// Line-by-line reading through zlib, which passes plain files through unchanged.
// Reads raw blocks rather than gzgets so that a NUL byte cannot hide the rest of a line.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (!f_) throw DataError(path + ": cannot open for reading");
  }

  // Next line without its '\n' (and '\r'); false at the end of the file.
  bool next(std::string& line) {
    line.clear();
    bool any = false;
    for (;;) {
      if (pos_ == end_ && !fill()) break;
      any = true;
      const char* start = buf_ + pos_;
      const void* nl = std::memchr(start, '\n', end_ - pos_);
      const std::size_t len = nl ? static_cast<const char*>(nl) - start : end_ - pos_;
      line.append(start, len);
      pos_ += len;
      if (nl) {
        ++pos_;
        break;
      }
    }
    if (!any) return false;
    ++line_no_;
    if (line.find('\0') != std::string::npos) {
      throw DataError(path_ + ":" + std::to_string(line_no_) + ": NUL byte in a text file");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  std::size_t line_no() const { return line_no_; }

 private:
  bool fill() {
    const int got = gzread(f_.get(), buf_, sizeof buf_);
    int code = Z_OK;
    const char* msg = gzerror(f_.get(), &code);
    if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      throw DataError(path_ + ": read error (corrupt or truncated gzip data?): " + msg);
    }
    pos_ = 0;
    end_ = static_cast<std::size_t>(got);
    return got > 0;
  }

  std::string path_;
  std::unique_ptr<gzFile_s, GzCloser> f_;
  char buf_[1 << 16];
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::size_t line_no_ = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const std::size_t comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

enum class Parse { ok, not_a_number, not_finite, out_of_range };

const char* describe(Parse p) {
  switch (p) {
    case Parse::ok:
      return "ok";
    case Parse::not_a_number:
      return "not a number";
    case Parse::not_finite:
      return "not finite";
    case Parse::out_of_range:
      return "out of the range of a double";
  }
  return "?";
}

// The whole field must spell one number. from_chars takes no leading '+' (CSV
// writers may emit one) and does accept "nan" and "inf", which are refused after.
Parse parse_number(std::string_view field, double& v) {
  if (field.size() > 1 && field.front() == '+' && field[1] != '-' && field[1] != '+') {
    field.remove_prefix(1);
  }
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field.empty() || end != field.data() + field.size()) return Parse::not_a_number;
  if (ec == std::errc::result_out_of_range) return Parse::out_of_range;
  if (ec != std::errc()) return Parse::not_a_number;
  return std::isfinite(v) ? Parse::ok : Parse::not_finite;
}

bool is_blank(std::string_view line) { return trim(line).empty(); }

}  // namespace

Table read_table(const std::string& path, std::size_t cols) {
  LineReader in(path);
  Table t;
  t.cols = cols;
  std::string line;
  std::size_t blank_since = 0;  // first line of the current run of blank lines
  while (in.next(line)) {
    const std::size_t ln = in.line_no();
    const std::string where = path + ":" + std::to_string(ln) + ": ";
    if (ln == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (is_blank(line)) {
      if (blank_since == 0) blank_since = ln;
      continue;
    }
    if (blank_since != 0) {
      throw DataError(path + ":" + std::to_string(blank_since) + ": blank line before more data");
    }
    const auto fields = split(line);
    if (fields.size() != cols) {
      throw DataError(where + "expected " + std::to_string(cols) +
                      " comma-separated fields, found " + std::to_string(fields.size()));
    }
    std::vector<double> row(cols);
    std::size_t bad = cols;  // index of the first field that is not a finite number
    Parse why = Parse::ok;
    bool any_number = false;
    bool any_empty = false;
    for (std::size_t i = 0; i < cols; ++i) {
      const Parse p = parse_number(fields[i], row[i]);
      any_number |= p != Parse::not_a_number;
      any_empty |= fields[i].empty();
      if (p != Parse::ok && bad == cols) {
        bad = i;
        why = p;
      }
    }
    if (ln == 1 && !any_number && !any_empty) {
      t.header.assign(fields.begin(), fields.end());
      continue;
    }
    if (bad != cols) {
      throw DataError(where + "field " + std::to_string(bad + 1) + " '" + std::string(fields[bad]) +
                      "' is " + describe(why));
    }
    t.values.insert(t.values.end(), row.begin(), row.end());
  }
  if (t.rows() == 0) {
    throw DataError(path + ": no data rows (" + std::to_string(in.line_no()) + " lines read)");
  }
  return t;
}

XY read_xy(const std::string& path) {
  const Table t = read_table(path, 2);
  XY xy;
  xy.had_header = !t.header.empty();
  xy.x.reserve(t.rows());
  xy.y.reserve(t.rows());
  for (std::size_t r = 0; r < t.rows(); ++r) {
    xy.x.push_back(t.values[2 * r]);
    xy.y.push_back(t.values[2 * r + 1]);
  }
  return xy;
}

}  // namespace hpcb::csv
