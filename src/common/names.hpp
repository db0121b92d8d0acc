// The words of an enumerated option, written once per enum: the command line
// reads them, --describe lists them, the record and the summary print them.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hpcb {

template <class E>
struct Named {
  const char* name;
  E value;
};

template <class E>
std::optional<E> value_named(std::span<const Named<E>> table, const std::string& name) {
  for (const Named<E>& n : table)
    if (name == n.name) return n.value;
  return std::nullopt;
}

// The table holds every value of E, so the lookup cannot fail.
template <class E>
const char* name_of(std::span<const Named<E>> table, E value) {
  for (const Named<E>& n : table)
    if (n.value == value) return n.name;
  return "?";
}

template <class E>
std::vector<std::string> names_of(std::span<const Named<E>> table) {
  std::vector<std::string> out;
  for (const Named<E>& n : table) out.emplace_back(n.name);
  return out;
}

// "a, b or c"
inline std::string either(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  return out;
}

}  // namespace hpcb
