// Small ASCII text helpers shared by the command code (names and keywords
// are ASCII and case-insensitive in Redis).
#pragma once

#include <algorithm>
#include <string_view>

namespace proxy {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

}  // namespace proxy
