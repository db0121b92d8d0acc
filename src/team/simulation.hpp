// The simulated build: jobs/smpi.mk compiles the MPI backend with SimGrid's smpicxx and
// defines HPCB_SMPI; its ranks then run on a simulated platform (jobs/smpi-run), every
// clock reading is simulated time (common/timer.hpp) and the input is read with serial
// HDF5 (io/h5_read.cpp). This header is the one place that says so in a run record: the
// backend's name and prov.simulated.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

#ifdef HPCB_SMPI
// SimGrid's own order: its version header needs the macros of xbt's headers.
#include <xbt/config.hpp>
#include <simgrid/version.h>
#endif

namespace hpcb {

#ifdef HPCB_SMPI
inline constexpr const char* kMpiBackendName = "smpi";
#else
inline constexpr const char* kMpiBackendName = "mpi";
#endif

// prov.simulated: {platform, simgrid, host_speed, coll_selector} for a simulated run,
// null for a real one. The platform's name comes from jobs/smpi-run (HPCB_SMPI_PLATFORM);
// the settings from SimGrid itself, so a run started with smpirun by hand records them too.
inline nlohmann::json simulated_provenance() {
#ifdef HPCB_SMPI
  const char* platform = std::getenv("HPCB_SMPI_PLATFORM");
  const auto setting = [](const char* name) { return simgrid::config::get_value<std::string>(name); };
  return {{"platform", platform ? platform : "unknown"},
          {"simgrid", std::to_string(SIMGRID_VERSION_MAJOR) + "." + std::to_string(SIMGRID_VERSION_MINOR) + "." +
                          std::to_string(SIMGRID_VERSION_PATCH)},
          {"host_speed", setting("smpi/host-speed")},
          {"coll_selector", setting("smpi/coll-selector")}};
#else
  return nullptr;
#endif
}

}  // namespace hpcb
