#include "team/host_name.hpp"

#include <unistd.h>

#include <cstdlib>

namespace hpcb {

std::string this_host(const std::string& system_name) {
  if (const char* node = std::getenv("SLURMD_NODENAME"); node && *node) return node;
  return system_name;
}

std::string this_host() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return this_host(std::string(name));
}

}  // namespace hpcb
