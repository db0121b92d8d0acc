#include "io/h5_probe.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace hpcb {
namespace {

// Rows [r0, r1) of one dataset into a scratch buffer, as the reader would.
void read_rows(const H5Reader& file, const H5Walk::Data& d, const ArrayInfo& info, std::int64_t r0, std::int64_t r1,
               std::int64_t row) {
  const DType as = d.read_as.value_or(info.dtype);
  std::vector<unsigned char> buf(static_cast<std::size_t>((r1 - r0) * row) * dtype_size(as) + 1);
  file.read_rows(d.name, r0, r1, as, buf.data());
}

// The HDF5 calls of `walk`, in the child. Errors HDF5 reports are the reader's
// to report later (with its own message): they are skipped here.
void walk_file(const std::string& path, const H5Walk& walk) {
  const H5Reader file(path);
  for (const H5Walk::Data& d : walk.datasets) {
    try {
      if (!file.has(d.name)) continue;
      const ArrayInfo info = file.info(d.name, d.rank);
      const std::int64_t n = info.dims[0];
      std::int64_t row = 1;
      for (std::size_t i = 1; i < info.dims.size(); ++i) {
        if (info.dims[i] > kWalkFullReadBytes / row) throw DataError("row too long");  // the reader refuses it
        row *= info.dims[i];
      }
      const long long row_bytes = row * static_cast<long long>(dtype_size(d.read_as.value_or(info.dtype)));
      if (row_bytes > kWalkFullReadBytes) continue;
      if (n <= kWalkFullReadBytes / row_bytes) {
        read_rows(file, d, info, 0, n, row);
      } else {
        read_rows(file, d, info, 0, 1, row);
        read_rows(file, d, info, n - 1, n, row);
      }
      read_rows(file, d, info, n, n, row);  // an empty selection, as workers without rows make
    } catch (const std::exception&) {
    }
  }
  for (const auto& [object, attr] : walk.string_attributes) {
    try {
      (void)file.string_attr(object, attr);
    } catch (const std::exception&) {
    }
  }
  for (const auto& [name, attr] : walk.number_attributes) {
    try {
      (void)file.dataset_double(name, attr);
    } catch (const std::exception&) {
    }
  }
}

[[noreturn]] void child(const std::string& path, const H5Walk& walk, pid_t parent) {
  // Nothing of the child reaches the user (a sanitizer's report, glibc's
  // "malloc(): ..." line), a crash leaves no core file, and the child ends with
  // its parent.
  const int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
  }
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  try {
    walk_file(path, walk);
  } catch (...) {
  }
  // _exit: no atexit handlers, no flushing of the parent's stdio buffers, no
  // HDF5 or MPI shutdown in a process that only borrowed them.
  _exit(0);
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

void check_h5_walk(const std::string& path, const H5Walk& walk) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  // With SIGCHLD ignored (inherited from whoever started us) the kernel reaps
  // the child itself and its status is lost: take the default back.
  struct sigaction chld {};
  if (sigaction(SIGCHLD, nullptr, &chld) == 0 && chld.sa_handler == SIG_IGN) signal(SIGCHLD, SIG_DFL);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return;
  if (pid == 0) child(path, walk, parent);
  // Poll: the walk takes milliseconds, so start with short sleeps.
  const auto start = std::chrono::steady_clock::now();
  auto nap = std::chrono::microseconds(50);
  int status = 0;
  for (;;) {
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) return;  // cannot happen for our own child; then unguarded
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(kWalkTimeoutS)) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      throw DataError(path + ": damaged HDF5 file: the HDF5 library did not finish reading its structure in " +
                      std::to_string(kWalkTimeoutS) + " s");
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(10000));
  }
  if (WIFSIGNALED(status))
    throw DataError(path + ": damaged HDF5 file: the HDF5 library crashed reading its structure (" +
                    signal_name(WTERMSIG(status)) + ")");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw DataError(path + ": damaged HDF5 file: the HDF5 library failed reading its structure (check exited with " +
                    std::to_string(WEXITSTATUS(status)) + ")");
}

void check_h5_walk_on_team(Team& team, const std::string& path, const H5Walk& walk) {
  std::optional<std::string> error;
  // The child is a copy of one thread only: a lock another thread of this process held at
  // the fork stays locked in it for good. So the walk forks only while the other threads
  // wait at a barrier (from there they go straight to agree()'s). Without it an ASan build
  // resuming at 7 threads on 2 cores once hung the child in its allocator until the 20 s
  // limit (GCC 12's libasan does not lock its allocator around fork; glibc's malloc does).
  team.barrier();
  if (team.rank() == 0) {
    try {
      check_h5_walk(path, walk);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (auto agreed = team.agree(error)) throw AgreedError(*agreed);
}

}  // namespace hpcb
