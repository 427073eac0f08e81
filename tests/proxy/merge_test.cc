// Merge: combining part replies of split and broadcast commands.
#include <doctest/doctest.h>

#include "proxy/merge.h"

using namespace proxy;

TEST_SUITE("Merge") {
  TEST_CASE("sums integers of DEL parts") {
    std::vector<std::string> parts = {":2\r\n", ":0\r\n", ":5\r\n"};
    std::string out;
    merge_replies(Merge::Sum, parts, 3, {}, out);
    CHECK(out == ":7\r\n");
  }

  TEST_CASE("puts MGET values back in key order, nils included") {
    // keys: k0 -> part 1, k1 -> part 0, k2 -> part 1, k3 -> part 0
    std::vector<std::string> parts = {"*2\r\n$2\r\nv1\r\n$-1\r\n", "*2\r\n$2\r\nv0\r\n$2\r\nv2\r\n"};
    std::string out;
    merge_replies(Merge::KeyOrder, parts, 2, {1, 0, 1, 0}, out);
    CHECK(out == "*4\r\n$2\r\nv0\r\n$2\r\nv1\r\n$2\r\nv2\r\n$-1\r\n");
  }

  TEST_CASE("an error in any part is the reply") {
    std::vector<std::string> parts = {"+OK\r\n", "-ERR backend b is down: x\r\n"};
    std::string out;
    merge_replies(Merge::AllOk, parts, 2, {}, out);
    CHECK(out == "-ERR backend b is down: x\r\n");
    out.clear();
    parts[1] = "+OK\r\n";
    merge_replies(Merge::AllOk, parts, 2, {}, out);
    CHECK(out == "+OK\r\n");
  }

  TEST_CASE("concatenates KEYS arrays and picks a non-nil RANDOMKEY") {
    std::vector<std::string> parts = {"*1\r\n$1\r\na\r\n", "*0\r\n", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"};
    std::string out;
    merge_replies(Merge::Concat, parts, 3, {}, out);
    CHECK(out == "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    std::vector<std::string> rk = {"$-1\r\n", "$1\r\nz\r\n"};
    out.clear();
    merge_replies(Merge::AnyNonNil, rk, 2, {}, out);
    CHECK(out == "$1\r\nz\r\n");
  }

  TEST_CASE("a malformed part gives an error, not a crash") {
    std::vector<std::string> parts = {"+OK\r\n", ":1\r\n"};
    std::string out;
    merge_replies(Merge::Sum, parts, 2, {}, out);
    CHECK(out.rfind("-ERR foreshard", 0) == 0);
  }
}
