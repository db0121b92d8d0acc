// This process's host name, as run records give it (record field `hosts`).
#pragma once

#include <string>

namespace hpcb {

// Under Slurm the node's name, SLURMD_NODENAME (several slurmd can share one host, as
// on a test cluster; on a real cluster the two agree); elsewhere `system_name`, the
// name the system or the MPI library gives (MPI_Get_processor_name names the
// simulated host under SimGrid).
std::string this_host(const std::string& system_name);

// The same with the system's name (gethostname) as the fallback.
std::string this_host();

}  // namespace hpcb
