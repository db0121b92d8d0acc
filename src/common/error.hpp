// Errors carry the exit status the executable ends with (see README, "Exit status").
#pragma once

#include <stdexcept>
#include <string>

namespace hpcb {

// kInterrupted: stopped on a signal after writing a checkpoint; run again with --resume.
enum ExitCode : int { kOk = 0, kDataError = 1, kUsageError = 2, kValidationError = 3, kInterrupted = 4 };

// Every exit status, its short name and meaning: --help and --describe print
// this table, and the sweep reads it from --describe.
struct ExitCodeInfo {
  ExitCode code;
  const char* name;
  const char* meaning;
};
inline constexpr ExitCodeInfo kExitCodes[] = {
    {kOk, "ok", "the run finished and its result validates; the record was appended"},
    {kDataError, "data error", "the input data, a file or the run itself failed (one line on stderr, no record)"},
    {kUsageError, "usage error", "the command line was refused (one line on stderr, nothing run)"},
    {kValidationError, "failed validation",
     "the run finished but its result failed self-validation (recorded with status failed-validation)"},
    {kInterrupted, "checkpointed",
     "stopped by a signal after saving --checkpoint; run again with --resume"},
};

// A problem with the input data or the run itself (exit status 1).
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A problem with the command line (exit status 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hpcb

namespace hpcb {

// An error every worker of a team already knows about (through Team::agree or
// because it follows from data all workers share): each worker can return its
// exit status without waiting for the others.
class AgreedError : public DataError {
 public:
  using DataError::DataError;
};

}  // namespace hpcb
