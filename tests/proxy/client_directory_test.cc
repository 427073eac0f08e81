// Tests for proxy/client_directory: CLIENT KILL filter parsing (Redis 7.0
// syntax and its errors) and matching against the directory.
#include "proxy/client_directory.h"

#include <doctest/doctest.h>

namespace proxy {

namespace {

void fill(ClientDirectory& d) {
  d.add(1, ClientEntry{0, "127.0.0.1:5001", "127.0.0.1:7000", "", "default", 2, 0});
  d.add(2, ClientEntry{1, "127.0.0.1:5002", "127.0.0.1:7000", "app", "reader", 3, 0});
  d.add(3, ClientEntry{1, "10.0.0.9:5003", "127.0.0.1:7000", "", "default", 2, 0});
}

std::vector<uint64_t> ids(const std::vector<std::pair<uint64_t, uint32_t>>& v) {
  std::vector<uint64_t> out;
  for (auto& [id, w] : v) {
    out.push_back(id);
  }
  return out;
}

}  // namespace

TEST_CASE("client kill: the old form is an address and does not skip the caller") {
  KillFilter f;
  std::string err;
  REQUIRE(parse_kill_filter({"127.0.0.1:5001"}, f, err));
  CHECK(f.old_form);
  ClientDirectory d;
  fill(d);
  CHECK(ids(match_kill(d, f, 1)) == std::vector<uint64_t>{1});
}

TEST_CASE("client kill: filters combine; SKIPME yes is the default") {
  ClientDirectory d;
  fill(d);
  KillFilter f;
  std::string err;
  REQUIRE(parse_kill_filter({"USER", "default"}, f, err));
  CHECK(ids(match_kill(d, f, 1)) == std::vector<uint64_t>{3});
  KillFilter g;
  REQUIRE(parse_kill_filter({"user", "default", "skipme", "no"}, g, err));
  CHECK(ids(match_kill(d, g, 1)) == std::vector<uint64_t>{1, 3});
  KillFilter h;
  REQUIRE(parse_kill_filter({"ID", "2", "ADDR", "127.0.0.1:5002"}, h, err));
  CHECK(ids(match_kill(d, h, 1)) == std::vector<uint64_t>{2});
  KillFilter k;
  REQUIRE(parse_kill_filter({"LADDR", "127.0.0.1:7000", "TYPE", "normal"}, k, err));
  CHECK(ids(match_kill(d, k, 9)) == std::vector<uint64_t>{1, 2, 3});
  KillFilter m;
  REQUIRE(parse_kill_filter({"TYPE", "master"}, m, err));
  CHECK(match_kill(d, m, 9).empty());
}

TEST_CASE("client kill: syntax errors") {
  KillFilter f;
  std::string err;
  CHECK_FALSE(parse_kill_filter({}, f, err));
  CHECK_FALSE(parse_kill_filter({"ID", "0"}, f, err));
  CHECK(err == "ERR client-id should be greater than 0");
  CHECK_FALSE(parse_kill_filter({"ID", "x1"}, f, err));
  CHECK_FALSE(parse_kill_filter({"SKIPME", "maybe"}, f, err));
  CHECK(err == "ERR syntax error");
  CHECK_FALSE(parse_kill_filter({"TYPE", "weird"}, f, err));
  CHECK(err == "ERR Unknown client type 'weird'");
  KillFilter one;
  CHECK(parse_kill_filter({"ID"}, one, err));  // one argument: the old form, an address
  CHECK(one.old_form);
  CHECK_FALSE(parse_kill_filter({"NAME", "x"}, f, err));
}

TEST_CASE("client directory: update, remove and a sorted copy") {
  ClientDirectory d;
  fill(d);
  d.update(2, [](ClientEntry& e) { e.name = "renamed"; });
  d.remove(1);
  d.update(42, [](ClientEntry& e) { e.name = "ghost"; });  // unknown id: no effect
  auto l = d.list();
  REQUIRE(l.size() == 2);
  CHECK(l[0].first == 2);
  CHECK(l[0].second.name == "renamed");
  ClientEntry e;
  CHECK_FALSE(d.get(1, e));
  CHECK(d.get(3, e));
  CHECK(e.addr == "10.0.0.9:5003");
}

}  // namespace proxy
