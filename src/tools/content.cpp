#include "tools/content.hpp"

#include <charconv>

#include "common/sha256.hpp"
#include "io/h5_write.hpp"
#include "io/verify.hpp"

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

std::string finish_content(hid_t file, const h5::DatasetWriter& w) {
  const std::vector<unsigned char> digests = w.block_digests();
  const std::string name = block_digest_name(w.name());
  h5::write_matrix(file, name, digests.size() / 32, 32, digests.data());
  h5::write_attribute(file, name, "block_rows", static_cast<double>(w.block_rows()));
  return w.sha256();
}

std::string format_double(double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace hpcb::tools
