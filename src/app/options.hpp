// Every command-line option declared once: its flag, type, default, meaning,
// value rules (bounds, choices, words), the backends that use it, its role for
// the sweep driver and whether the record's params carry it. The same
// declaration registers the CLI11 option, checks the value after parsing and
// prints the option in --describe (JSON, schema hpcb-describe/1), which the
// sweep driver, the README test and the docs read instead of restating it.
#pragma once

#include <nlohmann/json.hpp>

#include <climits>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/names.hpp"

// CLI11 by name only: its header alone takes ~8 s to compile at -O3, so only the files that
// call it (options.cpp, app.cpp, mkdata_main.cpp) include it.
namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace hpcb {

inline constexpr const char* kDescribeSchema = "hpcb-describe/1";

// How a sweep uses an option: a grid parameter, set by the sweep driver itself
// for every run, or not at all.
enum class Role { param, sweep, none };

// The backends an option applies to (bit set).
enum BackendBits : unsigned { kSeq = 1, kOmp = 2, kMpi = 4, kHybrid = 8, kAllBackends = 15 };

// What --describe says of an option besides its type and value rules.
struct OptionInfo {
  std::string flag;     // "--target-mse"; its key is "target_mse"
  std::string meaning;  // the --help text
  Role role = Role::param;
  bool recorded = false;  // the record's params carries it, under its key
  unsigned backends = kAllBackends;
  bool hidden = false;  // testing only: not in --help nor in the README
};

class OptionTable {
 public:
  explicit OptionTable(CLI::App& cli) : cli_(cli) {}

  // The default of each option is the target's value when it is declared.
  void integer(OptionInfo info, int& target, std::int64_t min, std::int64_t max = INT_MAX);
  void uint64(OptionInfo info, std::uint64_t& target);
  // A finite number >= min (> min when min_exclusive).
  void real(OptionInfo info, double& target, double min, bool min_exclusive = false);
  // Like real, but without a default: unset when not given.
  void optional_real(OptionInfo info, std::optional<double>& target, double min);
  // A finite number > min (or >= min) into value, or `word` (is_word true).
  void real_or_word(OptionInfo info, double& value, bool& is_word, double min, bool min_exclusive,
                    const std::string& word);
  template <class E>
  void choice(OptionInfo info, E& target, std::span<const Named<E>> names);
  // One of names, or else a file path (stored in path; target = path_value).
  template <class E>
  void choice_or_path(OptionInfo info, E& target, std::string& path, std::span<const Named<E>> names, E path_value);
  // words: values with a meaning of their own besides a path (--record none).
  void text(OptionInfo info, std::string& target, bool is_path, std::vector<std::string> words = {},
            bool required = false);
  void flag(OptionInfo info, bool& target);
  // A flag CLI11 itself handles (--help), or one that ends the run (--describe).
  void describe_only(OptionInfo info);

  // After parsing: every value against its rules; throws UsageError naming the flag.
  void check() const;
  // The options array of --describe, in declaration order.
  nlohmann::ordered_json describe() const;

 private:
  struct Entry {
    nlohmann::ordered_json schema;
    std::function<void()> check;  // empty: nothing to check after parsing
  };
  // Registers info.flag with CLI11, reading into text; the check converts it.
  void add(const OptionInfo& info, nlohmann::ordered_json schema, std::function<void()> check, std::string& text);
  void remember(const OptionInfo& info, CLI::Option* opt, nlohmann::ordered_json schema, std::function<void()> check);
  CLI::App& cli_;
  std::vector<Entry> entries_;
  std::deque<std::string> texts_;  // the raw text of options converted after parsing
};

// The whole --describe document of one executable.
nlohmann::ordered_json describe_document(const std::string& program, const std::string& app, const std::string& backend,
                                 const OptionTable& options);

// "--target-mse" -> "target_mse"
std::string option_key(const std::string& flag);

nlohmann::ordered_json option_schema(const OptionInfo& info, const char* type, nlohmann::ordered_json default_value);

[[noreturn]] void refuse_choice(const std::string& flag, const std::vector<std::string>& allowed,
                                const std::string& got);

template <class E>
void OptionTable::choice(OptionInfo info, E& target, std::span<const Named<E>> names) {
  texts_.emplace_back(name_of(names, target));
  std::string& text = texts_.back();
  nlohmann::ordered_json schema = option_schema(info, "choice", text);
  schema["choices"] = names_of(names);
  add(info, std::move(schema), [&target, &text, names, flag = info.flag] {
    const std::optional<E> v = value_named(names, text);
    if (!v) refuse_choice(flag, names_of(names), text);
    target = *v;
  }, text);
}

template <class E>
void OptionTable::choice_or_path(OptionInfo info, E& target, std::string& path, std::span<const Named<E>> names,
                                 E path_value) {
  texts_.emplace_back(target == path_value ? path : std::string(name_of(names, target)));
  std::string& text = texts_.back();
  nlohmann::ordered_json schema = option_schema(info, "text", text);
  schema["words"] = names_of(names);
  schema["path_allowed"] = true;
  add(info, std::move(schema), [&target, &path, &text, names, path_value, flag = info.flag] {
    if (text.empty()) {
      std::vector<std::string> allowed = names_of(names);
      allowed.push_back("a file");
      refuse_choice(flag, allowed, text);
    }
    const std::optional<E> v = value_named(names, text);
    target = v ? *v : path_value;
    path = v ? std::string() : text;
  }, text);
}

}  // namespace hpcb
