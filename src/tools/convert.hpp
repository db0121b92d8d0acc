// Converters from the raw inputs to the toolkit's HDF5 layout (datasets/README.md).
// Each writes its output atomically and returns what it wrote; data problems
// throw DataError.
#pragma once

#include <string>

#include "tools/content.hpp"

namespace hpcb::tools {

// MNIST IDX images + labels -> /X uint8 (n x rows*cols, attribute scale = 1/255),
// /labels int32 (n). An empty `source` gets the MNIST description.
Written convert_mnist(const std::string& images, const std::string& labels, const std::string& out,
                      std::string source = {});

// Two-column CSV -> /x, /y float64. An empty `source` names only the file.
Written convert_csv(const std::string& in, const std::string& out, std::string source = {});

// scikit-learn's digits.csv(.gz) (64 pixels 0..16 then the label 0..9 per line)
// -> /X uint8 (n x 64, no scale: raw values as load_digits gives), /labels int32.
Written convert_digits(const std::string& in, const std::string& out, std::string source = {});

}  // namespace hpcb::tools
