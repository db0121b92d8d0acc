#include "team/mpi_process.hpp"

namespace hpcb {

Backend::Backend(int& argc, char**& argv) : libraries_(std::make_unique<Libraries>(argc, argv)) {}
Backend::~Backend() = default;

std::optional<std::string> Backend::agree(const std::optional<std::string>& mine) {
  return libraries_->world.agree(mine);
}

}  // namespace hpcb
