#include "common/record.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
  if (fcntl(fd.get(), F_SETLKW, &lock) != 0)
    throw DataError("cannot lock records file " + path + ": " + std::strerror(errno));
  struct stat st{};  // the size to truncate back to if the append fails
  if (fstat(fd.get(), &st) != 0)
    throw DataError("cannot stat records file " + path + ": " + std::strerror(errno));
  // A short write is continued (still under the lock), so the error reported is
  // the one that stopped it (ENOSPC, EFBIG, EDQUOT, EIO), not a guess.
  std::size_t done = 0;
  int err = 0;
  while (done < line.size()) {
    const ssize_t n = write(fd.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err != 0) {
    if (ftruncate(fd.get(), st.st_size) != 0) { /* nothing more can be done; the error below says why */ }
    throw DataError("cannot append to records file " + path + ": " + std::strerror(err));
  }
  if (fsync(fd.get()) != 0 && errno != EINVAL)
    throw DataError("cannot flush records file " + path + ": " + std::strerror(errno));
}

}  // namespace hpcb
