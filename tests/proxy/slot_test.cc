// Slot hashing tests: CRC16 check value, and key -> slot against values taken
// from a real redis-server's CLUSTER KEYSLOT (cluster mode, Redis 7.0).
#include "proxy/slot.h"

#include <doctest/doctest.h>

#include <string>

namespace proxy {

TEST_SUITE("Slot") {
  TEST_CASE("crc16 is CRC16-CCITT XModem: the check value of '123456789' is 0x31C3") {
    CHECK(crc16("123456789", 9) == 0x31C3);
    CHECK(crc16("", 0) == 0);
    CHECK(crc16("A", 1) == 0x58E5);
  }

  TEST_CASE("key_slot matches CLUSTER KEYSLOT for 16384 slots") {
    struct Case {
      std::string key;
      uint16_t slot;
    };
    // Each value was read from redis-server 7.0 `CLUSTER KEYSLOT <key>`.
    const Case cases[] = {
        {"foo", 12182},
        {"bar", 5061},
        {"hello", 866},
        {"", 0},
        {"a", 15495},
        {"123456789", 12739},
        {"{user1000}.following", 3443},
        {"{user1000}.followers", 3443},
        {"foo{}{bar}", 8363},
        {"foo{{bar}}zap", 4015},
        {"foo{bar}{zap}", 5061},
        {"{}", 15257},
        {"{", 4092},
        {"}{a}", 15495},
        {"user:{42}:profile", 8000},
        {"\xc3\xa9", 10180},  // "é" in UTF-8: bytes are hashed as they are
    };
    for (const Case& c : cases) {
      CAPTURE(c.key);
      CHECK(key_slot(c.key, 16384) == c.slot);
    }
  }

  TEST_CASE("routes {user1000}.following and {user1000}.followers to the same slot") {
    CHECK(key_slot("{user1000}.following", 16384) == key_slot("{user1000}.followers", 16384));
  }

  TEST_CASE("partition_key follows the Redis Cluster hash tag rule") {
    CHECK(partition_key("foo") == "foo");
    CHECK(partition_key("{user1}.a") == "user1");
    CHECK(partition_key("foo{}{bar}") == "foo{}{bar}");  // empty first tag: whole key
    CHECK(partition_key("foo{{bar}}zap") == "{bar");     // first '{', then first '}'
    CHECK(partition_key("foo{bar}{zap}") == "bar");      // only the first tag counts
    CHECK(partition_key("foo{bar") == "foo{bar");        // no closing brace
    CHECK(partition_key("foo}bar{") == "foo}bar{");      // '}' before '{' does not count
    CHECK(partition_key("") == "");
  }

  TEST_CASE("partition_key returns a view into the key, not a copy") {
    std::string key = "x{tag}y";
    std::string_view pk = partition_key(key);
    CHECK(pk.data() == key.data() + 2);
  }

  TEST_CASE("key_slot is crc16 of the partition key modulo slots for any slot count") {
    const std::string keys[] = {"foo", "{a}b", "user:1", "x{}"};
    for (uint32_t slots : {1u, 3u, 1000u, 16384u, 65536u}) {
      for (const std::string& k : keys) {
        std::string_view pk = partition_key(k);
        CHECK(key_slot(k, slots) == crc16(pk.data(), pk.size()) % slots);
      }
    }
    CHECK(key_slot("anything", 1) == 0);
    CHECK(key_slot("foo", 65536) == crc16("foo", 3));
  }

  TEST_CASE("binary keys with NUL bytes hash every byte") {
    std::string a("a\0b", 3);
    std::string b("a\0c", 3);
    CHECK(key_slot(a, 16384) != key_slot(b, 16384));
    CHECK(crc16(a.data(), a.size()) != crc16("a", 1));
  }
}

}  // namespace proxy
