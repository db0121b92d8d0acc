#include "app/options.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "common/error.hpp"

namespace hpcb {
namespace {

const char* role_name(Role r) {
  switch (r) {
    case Role::param: return "param";
    case Role::sweep: return "sweep";
    case Role::none: return "none";
  }
  return "none";
}

nlohmann::ordered_json backend_names(unsigned bits) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  const std::pair<unsigned, const char*> all[] = {{kSeq, "seq"}, {kOmp, "omp"}, {kMpi, "mpi"}, {kHybrid, "hybrid"}};
  for (const auto& [bit, name] : all)
    if (bits & bit) out.push_back(name);
  return out;
}

// The whole text as a number (what strtod reads, and nothing after it).
bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// The shortest text that reads back as v (the default shown by --help).
std::string number_text(double v) {
  char buf[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string bound_rule(double min, bool exclusive) {
  return std::string(exclusive ? "> " : ">= ") + number_text(min);
}

void check_real(const std::string& flag, double v, double min, bool exclusive, const std::string& shown,
                const std::string& alternative = "") {
  if (!std::isfinite(v) || (exclusive ? v <= min : v < min))
    throw UsageError(flag + " must be " + alternative + "a finite number " + bound_rule(min, exclusive) + ", got '" +
                     shown + "'");
}

}  // namespace

std::string option_key(const std::string& flag) {
  std::string key = flag.substr(flag.rfind("--") == 0 ? 2 : 0);
  for (char& c : key)
    if (c == '-') c = '_';
  return key;
}

nlohmann::ordered_json option_schema(const OptionInfo& info, const char* type, nlohmann::ordered_json default_value) {
  return {{"flag", info.flag},
          {"key", option_key(info.flag)},
          {"type", type},
          {"default", std::move(default_value)},
          {"required", false},
          {"min", nullptr},
          {"max", nullptr},
          {"min_exclusive", false},
          {"choices", nlohmann::ordered_json::array()},
          {"words", nlohmann::ordered_json::array()},
          {"path_allowed", false},
          {"meaning", info.meaning},
          {"backends", backend_names(info.backends)},
          {"role", role_name(info.role)},
          {"recorded", info.recorded},
          {"hidden", info.hidden}};
}

void refuse_choice(const std::string& flag, const std::vector<std::string>& allowed, const std::string& got) {
  throw UsageError(flag + " must be " + either(allowed) + ", got '" + got + "'");
}

void OptionTable::remember(const OptionInfo& info, CLI::Option* opt, nlohmann::ordered_json schema,
                           std::function<void()> check) {
  if (opt && info.hidden) opt->group("");
  entries_.push_back({std::move(schema), std::move(check)});
}

void OptionTable::add(const OptionInfo& info, nlohmann::ordered_json schema, std::function<void()> check, std::string& text) {
  remember(info, cli_.add_option(info.flag, text, info.meaning), std::move(schema), std::move(check));
}

void OptionTable::integer(OptionInfo info, int& target, std::int64_t min, std::int64_t max) {
  nlohmann::ordered_json schema = option_schema(info, "int", target);
  schema["min"] = min;
  schema["max"] = max;
  auto check = [&target, min, max, flag = info.flag] {
    if (target < min) throw UsageError(flag + " must be >= " + std::to_string(min) + ", got " + std::to_string(target));
    if (target > max)
      throw UsageError(flag + " must be <= " + std::to_string(max) + " (the limit), got " + std::to_string(target));
  };
  remember(info, cli_.add_option(info.flag, target, info.meaning), std::move(schema), check);
}

void OptionTable::uint64(OptionInfo info, std::uint64_t& target) {
  nlohmann::ordered_json schema = option_schema(info, "uint64", target);
  schema["min"] = 0;
  schema["max"] = std::numeric_limits<std::uint64_t>::max();
  // The range is the type's: CLI11 and the decimal check (app.cpp) enforce it.
  remember(info, cli_.add_option(info.flag, target, info.meaning), std::move(schema), {});
}

void OptionTable::real(OptionInfo info, double& target, double min, bool min_exclusive) {
  nlohmann::ordered_json schema = option_schema(info, "float", target);
  schema["min"] = min;
  schema["min_exclusive"] = min_exclusive;
  texts_.push_back(number_text(target));
  std::string& text = texts_.back();
  add(info, std::move(schema), [&target, &text, min, min_exclusive, flag = info.flag] {
    double v = 0;
    if (!parse_number(text, v)) v = std::numeric_limits<double>::quiet_NaN();
    check_real(flag, v, min, min_exclusive, text);
    target = v;
  }, text);
}

void OptionTable::optional_real(OptionInfo info, std::optional<double>& target, double min) {
  nlohmann::ordered_json schema = option_schema(info, "float", nullptr);
  schema["min"] = min;
  texts_.emplace_back();
  std::string& text = texts_.back();
  add(info, std::move(schema), [&target, &text, min, flag = info.flag] {
    if (text.empty()) return;
    double v = 0;
    if (!parse_number(text, v)) v = std::numeric_limits<double>::quiet_NaN();
    check_real(flag, v, min, false, text);
    target = v;
  }, text);
}

void OptionTable::real_or_word(OptionInfo info, double& value, bool& is_word, double min, bool min_exclusive,
                               const std::string& word) {
  nlohmann::ordered_json schema = option_schema(info, "float", is_word ? nlohmann::ordered_json(word) : nlohmann::ordered_json(value));
  schema["min"] = min;
  schema["min_exclusive"] = min_exclusive;
  schema["words"] = {word};
  texts_.push_back(is_word ? word : number_text(value));
  std::string& text = texts_.back();
  add(info, std::move(schema), [&value, &is_word, &text, min, min_exclusive, word, flag = info.flag] {
    is_word = text == word;
    if (is_word) return;
    double v = 0;
    if (!parse_number(text, v)) v = std::numeric_limits<double>::quiet_NaN();
    check_real(flag, v, min, min_exclusive, text, word + " or ");
    value = v;
  }, text);
}

void OptionTable::text(OptionInfo info, std::string& target, bool is_path, std::vector<std::string> words,
                       bool required) {
  nlohmann::ordered_json schema = option_schema(info, "text", target.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(target));
  schema["required"] = required;
  schema["words"] = words;
  schema["path_allowed"] = is_path;
  std::function<void()> check;
  if (required)
    check = [&target, flag = info.flag] {
      if (target.empty()) throw UsageError(flag + " is required and must name a file");
    };
  remember(info, cli_.add_option(info.flag, target, info.meaning), std::move(schema), std::move(check));
}

void OptionTable::flag(OptionInfo info, bool& target) {
  remember(info, cli_.add_flag(info.flag, target, info.meaning), option_schema(info, "flag", target), {});
}

void OptionTable::describe_only(OptionInfo info) {
  remember(info, nullptr, option_schema(info, "flag", false), {});
}

void OptionTable::check() const {
  for (const Entry& e : entries_)
    if (e.check) e.check();
}

nlohmann::ordered_json OptionTable::describe() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const Entry& e : entries_) out.push_back(e.schema);
  return out;
}

nlohmann::ordered_json describe_document(const std::string& program, const std::string& app, const std::string& backend,
                                 const OptionTable& options) {
  nlohmann::ordered_json codes = nlohmann::ordered_json::array();
  for (const ExitCodeInfo& c : kExitCodes) codes.push_back({{"code", int(c.code)}, {"name", c.name}, {"meaning", c.meaning}});
  return {{"schema", kDescribeSchema}, {"program", program}, {"app", app}, {"backend", backend},
          {"options", options.describe()}, {"exit_codes", codes}};
}

}  // namespace hpcb
