// The run record: one JSON object per line, schema "run/1" (README, "Run
// records"), appended to a records file that many runs and jobs share.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace hpcb {

inline constexpr const char* kRecordSchema = "run/1";

// Appends `record` as one line. The line goes out in a single write() on a file
// opened O_APPEND and locked (fcntl), so concurrent writers never interleave; a
// short write is rolled back by truncating to the old size, so no torn line is
// left. Creates the file's folder if needed. Throws DataError on failure.
// Where the file system refuses POSIX locks (ENOLCK, ENOSYS, EINVAL, EOPNOTSUPP: Lustre without
// flock, some NFS), the record goes instead to its own file in "<path>.spool/" (record.cpp).
void append_record(const std::string& path, const nlohmann::json& record);

}  // namespace hpcb
