#include "io/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <system_error>

#include "common/error.hpp"

namespace hpcb::idx {

namespace {

// Deflate cannot compress better than about 1032:1, so a gzip file of size s
// holds at most ~1032 s bytes: a cheap bound for headers claiming more.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using Gz = std::unique_ptr<gzFile_s, GzCloser>;

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Reads up to `size` bytes; returns the count read (short only at end of data).
std::uint64_t read_some(gzFile f, const std::string& path, std::uint8_t* out, std::uint64_t size) {
  std::uint64_t done = 0;
  while (done < size) {
    // gzread takes an unsigned count; stay well below its limit.
    const auto want = static_cast<unsigned>(std::min<std::uint64_t>(size - done, 1u << 30));
    const int got = gzread(f, out + done, want);
    if (got < 0) {
      int code = 0;
      throw DataError(path + ": read error: " + gzerror(f, &code));
    }
    if (got == 0) break;
    done += static_cast<std::uint64_t>(got);
  }
  // A gzip stream cut short reads as a clean end of data; gzerror says otherwise.
  int code = Z_OK;
  const char* msg = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    throw DataError(path + ": corrupt or truncated gzip data: " + msg);
  }
  return done;
}

struct Array {
  std::vector<std::uint64_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an unsigned-byte IDX array whose magic must be `magic` (whose low byte
// is the number of dimensions).
Array read_u8_array(const std::string& path, std::uint32_t magic, const char* what) {
  std::error_code ec;
  const std::uint64_t file_bytes = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(path + ": cannot read " + what + " file: " + ec.message());
  Gz f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError(path + ": cannot open " + what + " file");

  const unsigned ndim = magic & 0xFFu;
  std::array<std::uint8_t, 4 + 4 * 3> header{};
  const std::uint64_t header_bytes = 4 + 4 * std::uint64_t{ndim};
  const std::uint64_t got_header = read_some(f.get(), path, header.data(), header_bytes);
  auto be32 = [&](std::size_t at) {
    return std::uint32_t{header[at]} << 24 | std::uint32_t{header[at + 1]} << 16 |
           std::uint32_t{header[at + 2]} << 8 | std::uint32_t{header[at + 3]};
  };
  if (got_header < 4) {
    throw DataError(path + ": truncated " + what + " header: " + std::to_string(got_header) +
                    " bytes");
  }
  if (be32(0) != magic) {
    throw DataError(path + ": bad magic " + hex32(be32(0)) + " for an " + what +
                    " file, expected " + hex32(magic));
  }
  if (got_header < header_bytes) {
    throw DataError(path + ": truncated " + what + " header: " + std::to_string(got_header) +
                    " of " + std::to_string(header_bytes) + " bytes");
  }

  Array a;
  std::uint64_t elements = 1;
  std::ostringstream shape;
  for (unsigned i = 0; i < ndim; ++i) {
    const std::uint64_t dim = be32(4 + 4 * i);
    a.dims.push_back(dim);
    shape << (i ? " x " : "") << dim;
    if (dim == 0)
      throw DataError(path + ": " + what + " header has a zero dimension (" + shape.str() + ")");
    // Each dim < 2^32 and the running product stays <= kMaxElements (2^31), so no overflow.
    elements *= dim;
    if (elements > kMaxElements) {
      throw DataError(path + ": " + what + " header claims an absurd size (" + shape.str() +
                      "...), more than " + std::to_string(kMaxElements) + " elements");
    }
  }
  // Checked before allocating: a plain file's size is exact, a gzip file's a bound.
  if (gzdirect(f.get()) != 0) {
    const std::uint64_t holds = file_bytes - std::min(file_bytes, header_bytes);
    if (elements > holds) {
      throw DataError(path + ": truncated " + what + " payload: the file holds " +
                      std::to_string(holds) + " of " + std::to_string(elements) + " bytes (" +
                      shape.str() + ")");
    }
  } else if (elements > file_bytes * kMaxDeflateRatio) {
    throw DataError(path + ": " + what + " header claims " + shape.str() + " = " +
                    std::to_string(elements) + " bytes, more than the " +
                    std::to_string(file_bytes) + "-byte gzip file can hold");
  }

  a.data.resize(elements);
  const std::uint64_t got = read_some(f.get(), path, a.data.data(), elements);
  if (got < elements) {
    throw DataError(path + ": truncated " + what + " payload: " + std::to_string(got) + " of " +
                    std::to_string(elements) + " bytes (" + shape.str() + ")");
  }
  std::uint8_t extra[4096];
  std::uint64_t trailing = 0;
  for (std::uint64_t n; (n = read_some(f.get(), path, extra, sizeof extra)) > 0;) trailing += n;
  if (trailing > 0) {
    throw DataError(path + ": " + std::to_string(trailing) + " bytes of trailing data after the " +
                    std::to_string(elements) + "-byte " + what + " payload");
  }
  return a;
}

}  // namespace

Images read_images(const std::string& path) {
  Array a = read_u8_array(path, 0x00000803u, "image");
  Images im;
  im.count = a.dims[0];
  im.rows = a.dims[1];
  im.cols = a.dims[2];
  im.pixels = std::move(a.data);
  return im;
}

std::vector<std::uint8_t> read_labels(const std::string& path) {
  return read_u8_array(path, 0x00000801u, "label").data;
}

}  // namespace hpcb::idx
