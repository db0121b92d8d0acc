#include "app/paths.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace hpcb {
namespace {

// What a path names when it is not a regular file, for messages.
std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown type";
}

// The cause of a failed stat(), worded as the user needs it: a loop of
// symbolic links is not a missing file.
std::string stat_failure(int err) {
  if (err == ENOENT) return "no such file";
  if (err == ELOOP) return "a loop of symbolic links (" + std::string(std::strerror(err)) + ")";
  return std::string("cannot be read: ") + std::strerror(err);
}

// Which file a path names: device and inode once it exists; until then its
// canonical parent folder and name (so "d/../x.h5" and "./x.h5" are the same).
struct FileId {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string future;

  bool same(const FileId& o) const {
    if (exists != o.exists) return false;
    return exists ? dev == o.dev && ino == o.ino : future == o.future;
  }
};

FileId identify(const std::string& path, const struct stat* st) {
  FileId id;
  if (st) {
    id.exists = true;
    id.dev = st->st_dev;
    id.ino = st->st_ino;
    return id;
  }
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  id.future = ec ? std::filesystem::path(path).lexically_normal().string() : canonical.string();
  return id;
}

}  // namespace

void check_inputs(const std::vector<NamedPath>& inputs) {
  for (const NamedPath& in : inputs) {
    struct stat st{};
    if (stat(in.path.c_str(), &st) != 0) throw DataError(in.path + ": " + stat_failure(errno));
    if (S_ISDIR(st.st_mode)) throw DataError(in.path + ": is a directory, not an HDF5 file");
    if (!S_ISREG(st.st_mode))
      throw DataError(in.option + " " + in.path + ": is " + kind_of(st.st_mode) + ", not a regular file");
  }
}

void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  struct Entry {
    const NamedPath* named;
    FileId id;
  };
  std::vector<Entry> files;
  for (const NamedPath& in : inputs) {
    struct stat st{};
    // An input that cannot be found is reported by check_inputs; nothing can overwrite it.
    if (stat(in.path.c_str(), &st) == 0) files.push_back({&in, identify(in.path, &st)});
  }
  const std::size_t first_output = files.size();
  for (const NamedPath& out : outputs) {
    struct stat st{};
    const bool exists = stat(out.path.c_str(), &st) == 0;
    if (!exists && errno == ELOOP) throw UsageError(out.option + " " + out.path + ": " + stat_failure(ELOOP));
    if (exists && !S_ISREG(st.st_mode))
      throw UsageError(out.option + " " + out.path + " is " + kind_of(st.st_mode) +
                       ", not a regular file: refusing to write to it");
    files.push_back({&out, identify(out.path, exists ? &st : nullptr)});
  }
  for (std::size_t o = first_output; o < files.size(); ++o)
    for (std::size_t other = 0; other < o; ++other)
      if (files[o].id.same(files[other].id))
        throw UsageError(files[o].named->option + " " + files[o].named->path + " and " + files[other].named->option +
                         " " + files[other].named->path + " are the same file: refusing to " +
                         (other < first_output ? "overwrite an input" : "write two outputs into one file"));
}

}  // namespace hpcb
