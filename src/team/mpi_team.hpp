// The MPI library's own description of itself, for the run record.
#pragma once

#include <mpi.h>

#include <string>

namespace hpcb {

inline std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(text, &len);
  const std::string s(text, static_cast<std::size_t>(len));
  // The first line names the library and version; the rest is configure flags.
  return s.substr(0, s.find('\n'));
}

}  // namespace hpcb
