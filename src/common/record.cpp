#include "common/record.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace hpcb {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Writes all of `text` to fd, continuing short writes; returns 0 or the errno that stopped it
// (ENOSPC for a write that made no progress).
int write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : ENOSPC;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// The lock is refused, not contended: the file system has no POSIX locks (a Lustre mount without
// flock/localflock, some NFS setups).
bool lock_unsupported(int err) { return err == ENOLCK || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP; }

// Where the records file keeps its records when it cannot be locked: one file per record in
// "<records>.spool/", written under a hidden name and renamed into place (rename within one
// folder is atomic on local file systems, NFS and Lustre), so a reader sees a whole record or
// none, and concurrent writers never share a file. Every reader of the records (the report,
// jobs/sweep.py, tools/compare.py: jobs/records_file.py) reads the spool with the file.
void append_to_spool(const std::string& path, const std::string& line) {
  const std::string dir = path + ".spool";
  if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST)
    throw DataError("records file " + path + " cannot be locked, and its spool folder " + dir +
                    " cannot be created: " + std::strerror(errno));
  char host[256] = "host";
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
  static std::atomic<unsigned> counter{0};
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string name = std::string(host) + "-" + std::to_string(getpid()) + "-" + std::to_string(ns) + "-" +
                           std::to_string(counter++) + ".jsonl";
  const std::string tmp = dir + "/." + name, final_path = dir + "/" + name;
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (fd.get() < 0) throw DataError("cannot create record file " + tmp + ": " + std::strerror(errno));
  int err = write_all(fd.get(), line);
  if (err == 0 && fsync(fd.get()) != 0 && errno != EINVAL) err = errno;
  if (err == 0 && rename(tmp.c_str(), final_path.c_str()) != 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    throw DataError("cannot write record file " + final_path + ": " + std::strerror(err));
  }
}

}  // namespace

void append_record(const std::string& path, const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  // Non-blocking: opening a FIFO for writing would wait forever for a reader.
  Fd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0666));
  if (fd.get() < 0) throw DataError("cannot open records file " + path + ": " + std::strerror(errno));
  struct stat kind{};
  if (fstat(fd.get(), &kind) != 0 || !S_ISREG(kind.st_mode))
    throw DataError("records file " + path + " is not a regular file");
  struct flock lock{};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (fcntl(fd.get(), F_SETLKW, &lock) != 0) {
    if (lock_unsupported(errno)) return append_to_spool(path, line);
    throw DataError("cannot lock records file " + path + ": " + std::strerror(errno));
  }
  struct stat st{};  // the size to truncate back to if the append fails
  if (fstat(fd.get(), &st) != 0)
    throw DataError("cannot stat records file " + path + ": " + std::strerror(errno));
  // A short write is continued (still under the lock), so the error reported is
  // the one that stopped it (ENOSPC, EFBIG, EDQUOT, EIO), not a guess.
  const int err = write_all(fd.get(), line);
  if (err != 0) {
    if (ftruncate(fd.get(), st.st_size) != 0) { /* nothing more can be done; the error below says why */ }
    throw DataError("cannot append to records file " + path + ": " + std::strerror(err));
  }
  if (fsync(fd.get()) != 0 && errno != EINVAL)
    throw DataError("cannot flush records file " + path + ": " + std::strerror(errno));
}

}  // namespace hpcb
