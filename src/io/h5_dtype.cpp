#include "io/h5_dtype.hpp"

namespace hpcb::h5 {
namespace {

struct DTypeRow {
  const char* name;
  std::size_t size;
  hid_t file;
  hid_t memory;
};

// HDF5's type identifiers are set when the library starts, so the table is made
// on each call rather than once.
DTypeRow row(DType t) {
  switch (t) {
    case DType::u8:
      return {"uint8", 1, H5T_STD_U8LE, H5T_NATIVE_UINT8};
    case DType::i32:
      return {"int32", 4, H5T_STD_I32LE, H5T_NATIVE_INT32};
    case DType::f32:
      return {"float32", 4, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT};
    case DType::f64:
      return {"float64", 8, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE};
  }
  return {"?", 0, H5I_INVALID_HID, H5I_INVALID_HID};
}

}  // namespace

const char* dtype_name(DType t) { return row(t).name; }
std::size_t dtype_size(DType t) { return row(t).size; }
hid_t file_type(DType t) { return row(t).file; }
hid_t memory_type(DType t) { return row(t).memory; }

}  // namespace hpcb::h5
