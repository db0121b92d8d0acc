// The element types a dataset can hold, and each one's HDF5 types, name and size:
// one table (h5_dtype.cpp) for reading and writing.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace hpcb::h5 {

// Element types a dataset can hold; stored little-endian whatever the host.
enum class DType { u8, i32, f32, f64 };

// The DType of a C++ element type; other types do not compile.
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return DType::u8;
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return DType::i32;
  } else if constexpr (std::is_same_v<T, float>) {
    return DType::f32;
  } else {
    static_assert(std::is_same_v<T, double>, "datasets hold uint8, int32, float or double");
    return DType::f64;
  }
}
template <class T>
inline constexpr DType dtype_of_v = dtype_of<T>();

const char* dtype_name(DType t);  // "uint8", "int32", "float32", "float64"
std::size_t dtype_size(DType t);  // bytes per element
hid_t file_type(DType t);         // the type stored in files: standard, little-endian
hid_t memory_type(DType t);       // the type in memory: native

}  // namespace hpcb::h5
