// A guard against the HDF5 library crashing on a damaged input file.
//
// Debian's HDF5 (1.10.8) dies with SIGSEGV, aborts, overruns the heap or loops
// forever on damaged object headers, link names, heaps and chunk indexes (the
// h5 fuzz target finds such files within seconds: tests/fuzz/README.md). None
// of that can be caught in the process that suffers it, so before a run opens
// an input for real, a short-lived child process (fork) opens it read-only with
// the default (POSIX) driver and makes the HDF5 calls the run will make: the
// datasets' shapes and types, their rows, the attributes the reader checks. If
// the child dies on a signal, ends in error (a sanitizer build's report) or
// does not finish in time, the file is damaged and the run stops with one
// DataError line naming the file; otherwise the run reads it as before.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/h5_read.hpp"
#include "team/team.hpp"

namespace hpcb {

// What a reader touches in its file, in the order it does. Everything is
// optional in the walk: a missing dataset or attribute is the reader's error to
// report, with its own message; the walk looks only for crashes.
struct H5Walk {
  struct Data {
    std::string name;
    int rank;
    std::optional<DType> read_as;  // the type the reader converts to; none: as stored
  };
  std::vector<Data> datasets;                                         // shape, type, rows
  std::vector<std::pair<std::string, std::string>> string_attributes;  // H5Reader::string_attr(object, attr)
  std::vector<std::pair<std::string, std::string>> number_attributes;  // H5Reader::dataset_double(name, attr)
};

// Datasets up to this many bytes are read whole by the walk (every chunk and
// filter the run will touch); larger ones only in their first and last rows.
inline constexpr long long kWalkFullReadBytes = 64ll << 20;
// A walk that takes longer is a library caught in a loop on a damaged file.
inline constexpr int kWalkTimeoutS = 20;

// Throws DataError when the HDF5 library does not survive `walk` on `path`.
// Does nothing when the file is missing (the reader says so) or when no child
// process can be started (the run then reads the file unguarded, as before).
void check_h5_walk(const std::string& path, const H5Walk& walk);

// The same, done once per team (by worker 0, on the file system every worker
// reads) and agreed: every worker throws the same AgreedError.
void check_h5_walk_on_team(Team& team, const std::string& path, const H5Walk& walk);

}  // namespace hpcb
