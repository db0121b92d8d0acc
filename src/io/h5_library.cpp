#include "io/h5_library.hpp"

#include <hdf5.h>

namespace hpcb {

Hdf5Library::Hdf5Library() {
  H5dont_atexit();
  H5open();
}

}  // namespace hpcb
