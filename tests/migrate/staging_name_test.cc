// staging_name(): the staging key of a big key's chunked copy must hash to the
// key's slot (so a cleanup of the range finds an orphan), for keys with and
// without hash tags, with '{' and '}' anywhere, empty and binary keys, and
// every slot count; it must be recognisable by its prefix.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "migrate/big_key_copy.h"
#include "proxy/slot.h"

namespace migrate {
namespace {

void check_same_slot(const std::string& key) {
  std::string s = staging_name(key);
  CAPTURE(key);
  CAPTURE(s);
  CHECK(is_staging_name(s));
  CHECK(s != key);
  for (uint32_t slots : {16384u, 65536u, 1024u, 1000u, 7u}) {
    CHECK(proxy::key_slot(s, slots) == proxy::key_slot(key, slots));
  }
}

TEST_CASE("staging keys hash to the key's slot in every edge case") {
  const std::vector<std::string> keys = {
      "user:1",
      "{user:1}.profile",
      "x{tag}y",
      "a{b",
      "a}b",
      "}",
      "{",
      "{}",
      "{}x}",
      "a{}b}",
      "}{",
      "a}b{c}",
      "{a}",
      "{{a}}",
      "}}{{",
      "a{b}c}d",
      "",
      "{}{a}",
      "a{",
      "{}}",
      "}a{b}",
      std::string("bin\0{\xff}", 7),
      std::string("\0", 1),
      std::string(300, '}'),
  };
  for (const std::string& k : keys) {
    check_same_slot(k);
  }
}

TEST_CASE("staging keys: random keys of braces and letters") {
  std::mt19937 rng(7);
  const char alphabet[] = {'a', 'b', '{', '}', ':'};
  for (int n = 0; n < 20000; ++n) {
    std::string k;
    for (int len = int(rng() % 9); len > 0; --len) {
      k.push_back(alphabet[rng() % sizeof alphabet]);
    }
    check_same_slot(k);
  }
}

TEST_CASE("staging keys: readable forms, and the search always ends") {
  CHECK(staging_name("x{tag}y") == std::string(kStagingPrefix) + "x{tag}y");
  CHECK(staging_name("plain") == std::string(kStagingPrefix) + "{plain}");
  // A '}' without a usable tag: a computed numeric tag with the key's CRC16.
  std::string s = staging_name("a}b");
  CHECK(s.rfind(std::string(kStagingPrefix) + "{", 0) == 0);
  CHECK(s.substr(s.size() - 3) == "a}b");
  // staging_name() searches decimal tags upwards: all 65536 CRC16 values occur
  // below 10^6, so the search is bounded.
  std::vector<bool> seen(65536, false);
  size_t left = seen.size();
  for (uint32_t i = 0; i < 1000000 && left > 0; ++i) {
    std::string n = std::to_string(i);
    uint16_t c = proxy::crc16(n.data(), n.size());
    if (!seen[c]) {
      seen[c] = true;
      --left;
    }
  }
  CHECK(left == 0);
  CHECK_FALSE(is_staging_name("user:1"));
}

}  // namespace
}  // namespace migrate
