#include "app/provenance.hpp"

#include <cblas.h>
#include <hdf5.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include "team/simulation.hpp"

#ifndef HPCB_GIT_COMMIT
#define HPCB_GIT_COMMIT "unknown"
#endif
#ifndef HPCB_GIT_DIRTY
#define HPCB_GIT_DIRTY 1
#endif
#ifndef HPCB_CXXFLAGS
#define HPCB_CXXFLAGS "unknown"
#endif

namespace hpcb {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json provenance(const std::string& mpi_library) {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  std::string blas = openblas_get_config();
  // Thread binding changes OpenMP timings a lot (unbound threads may start on one core), so
  // the record says how the run was bound.
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  nlohmann::json prov = {
      {"git", HPCB_GIT_COMMIT},
      {"dirty", HPCB_GIT_DIRTY != 0},
      {"compiler", std::string("g++ ") + __VERSION__},
      {"flags", HPCB_CXXFLAGS},
      {"mpi", mpi_library},
      {"hdf5", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release)},
      {"blas", blas.rfind("OpenBLAS", 0) == 0 ? blas : "OpenBLAS " + blas},
      {"cpu", cpu_model()},
      {"cores", std::thread::hardware_concurrency()},
      {"slurm_job_id", env("SLURM_JOB_ID")},
      {"slurm_array_task_id", env("SLURM_ARRAY_TASK_ID")},
      {"omp_proc_bind", env("OMP_PROC_BIND")},
      {"omp_places", env("OMP_PLACES")},
      {"utc", utc_now()},
  };
  if (auto simulated = simulated_provenance(); !simulated.is_null()) prov["simulated"] = std::move(simulated);
  return prov;
}

}  // namespace hpcb
