#include "io/checkpoint.hpp"

#include <cmath>
#include <csignal>
#include <filesystem>

#include "common/error.hpp"
#include "io/h5_read.hpp"
#include "io/h5_write.hpp"
#include "team/on_first.hpp"

namespace hpcb {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

constexpr const char* kFormat = "hpcb-checkpoint/1";

}  // namespace

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  // Restart interrupted system calls: the signal only asks for a stop at the
  // next iteration boundary; a read in progress must not fail because of it.
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_signal_received() { return g_stop != 0; }

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  h5::AtomicH5File file(path);
  h5::write_vector(file, "/model", c.model);
  h5::write_vector(file, "/trace", c.trace);
  h5::write_attribute(file, "/", "format", kFormat);
  h5::write_attribute(file, "/", "identity", c.identity);
  // Counts are stored as doubles: exact below 2^53.
  h5::write_attribute(file, "/", "iterations", static_cast<double>(c.iterations));
  h5::write_attribute(file, "/", "counter", static_cast<double>(c.counter));
  file.commit();
}

std::optional<Checkpoint> read_checkpoint(const std::string& path, const std::string& identity,
                                          const CheckpointLimits& limits) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  H5Reader file(path);
  if (file.root_string("format").value_or("") != kFormat)
    throw DataError(path + ": not a checkpoint of this toolkit (no format attribute '" + kFormat + "')");
  Checkpoint c;
  c.identity = file.root_string("identity").value_or("");
  if (c.identity != identity)
    throw DataError(path + ": the checkpoint is of another run (different data or parameters); refusing to resume. "
                    "It was: " + c.identity);
  const std::string bad = path + ": damaged checkpoint: ";
  // Counts are stored as doubles; NaN, fractions and values out of range would
  // become garbage integers.
  auto count = [&](const char* name, std::int64_t max) {
    const std::optional<double> v = file.dataset_double("/", name);
    if (!v || !(*v >= 0 && *v <= static_cast<double>(max)) || *v != std::floor(*v))
      throw DataError(bad + "attribute " + name + " is " + (v ? std::to_string(*v) : std::string("missing")) +
                      ", expected a whole number 0.." + std::to_string(max));
    return static_cast<std::int64_t>(*v);
  };
  c.iterations = count("iterations", limits.max_iterations);
  c.counter = count("counter", limits.max_counter);
  auto read = [&](const char* name, std::int64_t expected, std::vector<double>& into) {
    const ArrayInfo info = file.info(name, 1);  // throws when missing, empty or not 1-D
    if (info.dtype != DType::f64 || !info.exact)
      throw DataError(bad + "dataset " + name + " is not float64");
    if (info.dims[0] != expected)
      throw DataError(bad + "dataset " + name + " has " + std::to_string(info.dims[0]) + " values, expected " +
                      std::to_string(expected));
    into.resize(static_cast<std::size_t>(expected));
    file.read_rows(name, 0, expected, DType::f64, into.data());
    for (std::size_t i = 0; i < into.size(); ++i)
      if (!std::isfinite(into[i]))
        throw DataError(bad + "dataset " + name + " has a non-finite value at index " + std::to_string(i));
  };
  read("/model", limits.model_size, c.model);
  if (c.iterations > 0) read("/trace", c.iterations, c.trace);
  for (std::size_t i = 0; i < c.trace.size(); ++i)
    if (c.trace[i] < 0) throw DataError(bad + "dataset /trace has a negative value at index " + std::to_string(i));
  return c;
}

bool CheckpointPlan::should_stop(Team& team, std::int64_t iterations_done) const {
  if (!enabled()) return false;
  // The same on every worker, no need to ask the others.
  if (stop_after > 0 && iterations_done >= stop_after) return true;
  // A signal reaches workers at different moments: agree, but only every
  // signal_check_every iterations, so cheap iterations do not pay a collective each.
  if (iterations_done % signal_check_every != 0) return false;
  return team.max(stop_signal_received() ? 1.0 : 0.0) > 0;
}

void CheckpointPlan::save(Team& team, const Checkpoint& c) const {
  on_first_worker(team, [&] { write_checkpoint(path, c); });
}

}  // namespace hpcb
