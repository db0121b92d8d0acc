// Replays every saved fuzz input (tests/fuzz/regressions/<target>/: inputs that once
// broke a parser; tests/fuzz/corpus/<target>/: the seeds, and in found/ the corpus
// the long fuzz runs grew, minimised) through the same target
// bodies the libFuzzer binaries run (tests/fuzz/targets.hpp), so a fixed parser bug
// stays fixed in every `make test`, with or without clang. A parser may reject an
// input with a DataError; any other exception, or an accepted input that breaks the
// parser's promises, fails the test naming the file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "../fuzz/targets.hpp"

namespace {

namespace fs = std::filesystem;

// tests/fuzz: HPCB_FUZZ_DIR, else next to this source file as seen from the
// current directory (make test runs from the repository root), else relative to
// the binary (build/<config>/bin/unit_tests).
fs::path fuzz_dir() {
  if (const char* d = std::getenv("HPCB_FUZZ_DIR"); d && *d) return d;
  const fs::path from_source = fs::path(__FILE__).parent_path().parent_path() / "fuzz";
  std::error_code ec;
  if (fs::is_directory(from_source / "corpus", ec)) return from_source;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path from_exe = exe.parent_path() / ".." / ".." / ".." / "tests" / "fuzz";
    if (fs::is_directory(from_exe / "corpus", ec)) return from_exe;
  }
  return from_source;
}

std::vector<fs::path> inputs(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))  // corpus/<target>/found too
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Runs `target` on every seed and regression input of `name`; returns how many ran.
std::size_t replay(const std::string& name, const std::function<void(const std::string&)>& target) {
  std::size_t count = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const fs::path& file : inputs(fuzz_dir() / kind / name)) {
      SCOPED_TRACE(file.string());
      try {
        target(file.string());
      } catch (const std::exception& e) {
        ADD_FAILURE() << "input " << file << " escaped the parser's contract: " << e.what();
      }
      ++count;
    }
  }
  return count;
}

TEST(FuzzRegressions, InputsArePresent) {
  for (const char* name : {"idx", "csv", "h5"})
    EXPECT_FALSE(inputs(fuzz_dir() / "corpus" / name).empty())
        << "no seeds in " << (fuzz_dir() / "corpus" / name) << " (set HPCB_FUZZ_DIR to tests/fuzz)";
}

TEST(FuzzRegressions, Idx) { EXPECT_GT(replay("idx", hpcb::fuzz::idx_target), 0u); }

TEST(FuzzRegressions, Csv) { EXPECT_GT(replay("csv", hpcb::fuzz::csv_target), 0u); }

// Guarded, as the executables are: the HDF5-library crash inputs kept in
// regressions/h5/hdf5-crash-* would end this process otherwise.
TEST(FuzzRegressions, Hdf5) {
  EXPECT_GT(replay("h5", [](const std::string& path) { hpcb::fuzz::h5_target(path, true); }), 0u);
}

}  // namespace
