#include "tools/content.hpp"

#include <charconv>

#include "common/sha256.hpp"
#include "io/h5_write.hpp"

namespace hpcb::tools {

std::string write_content_hash(hid_t file,
                               const std::vector<std::pair<std::string, std::string>>& parts) {
  std::vector<std::string> digests;
  for (const auto& [dataset, hex] : parts) {
    h5::write_attribute(file, dataset, "sha256", hex);
    digests.push_back(hex);
  }
  const std::string content = combine_digests(digests);
  h5::write_attribute(file, "/", "content_sha256", content);
  return content;
}

std::string format_double(double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace hpcb::tools
