#include "io/data_identity.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/error.hpp"
#include "common/sha256.hpp"

namespace hpcb {

std::string data_identity(const std::string& path, const std::string& content_sha256) {
  if (!content_sha256.empty()) return content_sha256;
  constexpr std::int64_t kEdge = 1 << 20;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw DataError(path + ": cannot be read: " + std::strerror(errno));
  std::ifstream in(path, std::ios::binary);
  const std::int64_t size = st.st_size;
  std::vector<char> buf(static_cast<std::size_t>(std::min(size, kEdge)));
  Sha256 h;
  for (const std::int64_t at : {std::int64_t{0}, std::max<std::int64_t>(0, size - kEdge)}) {
    in.seekg(at);
    if (!in.read(buf.data(), static_cast<std::streamsize>(buf.size()))) throw DataError(path + ": cannot be read");
    h.update(buf.data(), buf.size());
  }
  const long long mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return "file size " + std::to_string(size) + " mtime_ns " + std::to_string(mtime_ns) + " edges_sha256 " + h.hex();
}

}  // namespace hpcb
