#include "app/provenance.hpp"

#include <cblas.h>
#include <hdf5.h>
#include <omp.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

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

namespace {

// The ISA extensions that decide which kernels run (ours with -march=native, OpenBLAS's by its
// core type), in this order in prov.cpu_flags when /proc/cpuinfo lists them.
const char* const kIsaFlags[] = {"sse4_2",   "avx",         "avx2",        "fma",       "avx512f",
                                 "avx512dq", "avx512cd",    "avx512bw",    "avx512vl",  "avx512_vnni",
                                 "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"};

// Text from /proc, /etc or the environment is not promised to be UTF-8, and the record writer
// throws on invalid UTF-8: nlohmann's own serializer replaces bad bytes with U+FFFD.
std::string utf8(const std::string& s) {
  return nlohmann::json::parse(nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .get<std::string>();
}

nlohmann::json env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return v ? nlohmann::json(utf8(v)) : nlohmann::json(nullptr);
}

// "key : value" lines of the first processor in /proc/cpuinfo.
std::map<std::string, std::string> first_cpu() {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (!fields.empty()) break;
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const auto start = line.find_first_not_of(" \t", colon + 1);
    fields.emplace(key, start == std::string::npos ? "" : line.substr(start));
  }
  return fields;
}

nlohmann::json number_or_null(const std::map<std::string, std::string>& f, const char* key) {
  const auto it = f.find(key);
  if (it == f.end()) return nullptr;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// The hypervisor's CPUID signature (leaf 0x40000000, e.g. "KVMKVMKVM", "Microsoft Hv"), or null
// on bare metal or another architecture.
nlohmann::json hypervisor_vendor(bool hypervisor) {
#if defined(__x86_64__) || defined(__i386__)
  if (!hypervisor) return nullptr;
  unsigned a = 0, b = 0, c = 0, d = 0;
  __cpuid(0x40000000, a, b, c, d);
  char sig[13] = {};
  std::memcpy(sig, &b, 4);
  std::memcpy(sig + 4, &c, 4);
  std::memcpy(sig + 8, &d, 4);
  std::string s;
  for (const char ch : std::string(sig)) s += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
#else
  (void)hypervisor;
  return nullptr;
#endif
}

nlohmann::json mem_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long long kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(256, '\n');
  }
  return nullptr;
}

nlohmann::json os_pretty_name() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string v = line.substr(12);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
    return utf8(v);
  }
  return nullptr;
}

// This process's command line as launched (/proc/self/cmdline: NUL-separated, unchanged by
// MPI_Init's argument handling).
std::vector<std::string> command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string::size_type start = 0;
  while (start < all.size()) {
    auto end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(utf8(all.substr(start, end - start)));
    start = end + 1;
  }
  return args;
}

// The CPUs this process may run on. With OMP_PROC_BIND (or OMP_PLACES) set, libgomp binds the
// initial thread to its first place when the program loads, so this thread's mask then names
// one CPU; the OpenMP places, made from the mask the process was given, still name them all.
int cpus_allowed() {
  std::set<int> procs;
  for (int place = 0; place < omp_get_num_places(); ++place) {
    std::vector<int> ids(static_cast<std::size_t>(omp_get_place_num_procs(place)));
    omp_get_place_proc_ids(place, ids.data());
    procs.insert(ids.begin(), ids.end());
  }
  if (!procs.empty()) return static_cast<int>(procs.size());
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

}  // namespace

std::string cpu_model() {
  const auto f = first_cpu();
  const auto it = f.find("model name");
  return it == f.end() ? "unknown" : utf8(it->second);
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
  const std::string blas = utf8(openblas_get_config());

  const auto cpu = first_cpu();
  std::set<std::string> flags;
  if (const auto it = cpu.find("flags"); it != cpu.end()) {
    std::istringstream words(it->second);
    for (std::string w; words >> w;) flags.insert(w);
  }
  std::vector<std::string> isa;
  for (const char* f : kIsaFlags)
    if (flags.count(f)) isa.emplace_back(f);
  const bool hypervisor = flags.count("hypervisor") != 0;
  const auto vendor = cpu.find("vendor_id");

  utsname un{};
  const bool have_uname = uname(&un) == 0;

  // Thread binding changes OpenMP timings a lot (unbound threads may start on one core), so
  // the record says how the run was bound.
  nlohmann::json prov = {
      {"git", HPCB_GIT_COMMIT},
      {"dirty", HPCB_GIT_DIRTY != 0},
      {"compiler", std::string("g++ ") + __VERSION__},
      {"flags", HPCB_CXXFLAGS},
      {"mpi", utf8(mpi_library)},
      {"hdf5", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release)},
      {"blas", blas.rfind("OpenBLAS", 0) == 0 ? blas : "OpenBLAS " + blas},
      // The kernel set OpenBLAS chose at load time (its DYNAMIC_ARCH core type), and the
      // variable that forces it when set.
      {"blas_core", utf8(openblas_get_corename())},
      {"openblas_coretype", env_or_null("OPENBLAS_CORETYPE")},
      {"cpu", cpu_model()},
      {"cpu_vendor", vendor == cpu.end() ? nlohmann::json(nullptr) : nlohmann::json(utf8(vendor->second))},
      {"cpu_family", number_or_null(cpu, "cpu family")},
      {"cpu_model_number", number_or_null(cpu, "model")},
      {"cpu_stepping", number_or_null(cpu, "stepping")},
      {"cpu_flags", isa},
      {"hypervisor", hypervisor},
      {"hypervisor_vendor", hypervisor_vendor(hypervisor)},
      {"cores", std::thread::hardware_concurrency()},
      {"cpus_allowed", cpus_allowed()},
      {"memory_bytes", mem_total_bytes()},
      {"os", os_pretty_name()},
      {"kernel", have_uname ? nlohmann::json(utf8(std::string(un.sysname) + " " + un.release)) : nlohmann::json(nullptr)},
      {"arch", have_uname ? nlohmann::json(utf8(un.machine)) : nlohmann::json(nullptr)},
      {"argv", command_line()},
      {"slurm_job_id", env_or_null("SLURM_JOB_ID")},
      {"slurm_array_task_id", env_or_null("SLURM_ARRAY_TASK_ID")},
      {"omp_proc_bind", env_or_null("OMP_PROC_BIND")},
      {"omp_places", env_or_null("OMP_PLACES")},
      {"utc", utc_now()},
  };
  if (auto simulated = simulated_provenance(); !simulated.is_null()) prov["simulated"] = std::move(simulated);
  return prov;
}

}  // namespace hpcb
