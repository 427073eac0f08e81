// Router: where each command class goes, against the built-in command table
// and a three-backend segment map.
#include <doctest/doctest.h>

#include <set>

#include "proxy/router.h"
#include "proxy/slot.h"

using namespace proxy;

namespace {

struct Fixture {
  CommandTable table = CommandTable::builtin();
  SegmentMap map = SegmentMap::initial(16384, 64, {{"a", 1}, {"b", 1}, {"c", 1}}).value();
  Router router{table};
  RoutePlan plan;
  Command cmd;

  const RoutePlan& route(std::vector<std::string_view> args) {
    cmd.args = std::move(args);
    const CommandInfo* info = table.lookup(cmd.args);
    REQUIRE(info != nullptr);
    router.route(*info, cmd, map, plan);
    return plan;
  }
  uint16_t owner(std::string_view key) const {
    return map.segment(map.segment_of_slot(key_slot(key, 16384))).owner;
  }
};

}  // namespace

TEST_SUITE("Router") {
  TEST_CASE("routes a single-key command to the owner of its segment") {
    Fixture f;
    const RoutePlan& p = f.route({"GET", "user:1"});
    CHECK(p.kind == RouteKind::Single);
    CHECK(p.backend == f.owner("user:1"));
    CHECK(p.segment == f.map.segment_of_slot(key_slot("user:1", 16384)));
  }

  TEST_CASE("routes {user1}.a and {user1}.b to the same segment") {
    Fixture f;
    uint32_t a = f.route({"SET", "{user1}.a", "1"}).segment;
    uint32_t b = f.route({"SET", "{user1}.b", "1"}).segment;
    CHECK(a == b);
    CHECK(f.route({"RENAME", "{user1}.a", "{user1}.b"}).kind == RouteKind::Single);
  }

  TEST_CASE("same-slot commands across slots get CROSSSLOT") {
    Fixture f;
    for (auto args : std::vector<std::vector<std::string_view>>{
             {"RENAME", "a", "b"}, {"SMOVE", "a", "b", "m"}, {"MSETNX", "a", "1", "b", "2"},
             {"EVAL", "return 1", "2", "a", "b"}, {"SUNIONSTORE", "d", "a", "b"}}) {
      const RoutePlan& p = f.route(args);
      CHECK(p.kind == RouteKind::Error);
      CHECK(p.error.rfind("-CROSSSLOT", 0) == 0);
    }
  }

  TEST_CASE("MGET over several owners splits into parts that remember key order") {
    Fixture f;
    std::vector<std::string> keys;
    std::set<uint16_t> owners;
    for (int i = 0; owners.size() < 3; ++i) {
      keys.push_back("k" + std::to_string(i));
      owners.insert(f.owner(keys.back()));
    }
    std::vector<std::string_view> args = {"MGET"};
    for (auto& k : keys) {
      args.push_back(k);
    }
    const RoutePlan& p = f.route(args);
    REQUIRE(p.kind == RouteKind::Split);
    CHECK(p.merge == Merge::KeyOrder);
    CHECK(p.backends.size() == 3);
    REQUIRE(p.key_part.size() == keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      CHECK(p.backends[p.key_part[i]] == f.owner(keys[i]));
    }
  }

  TEST_CASE("MSET splits key-value pairs; one owner means no split") {
    Fixture f;
    const RoutePlan& one = f.route({"MSET", "{t}a", "1", "{t}b", "2"});
    CHECK(one.kind == RouteKind::Single);
    const RoutePlan& odd = f.route({"MSET", "a", "1", "b"});
    CHECK(odd.kind == RouteKind::Error);
  }

  TEST_CASE("DEL and EXISTS sum, DBSIZE broadcasts, INFO and PING are local") {
    Fixture f;
    std::vector<std::string_view> del = {"DEL"};
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i) {
      keys.push_back("d" + std::to_string(i));
    }
    for (auto& k : keys) {
      del.push_back(k);
    }
    CHECK(f.route(del).merge == Merge::Sum);
    const RoutePlan& db = f.route({"DBSIZE"});
    CHECK(db.kind == RouteKind::Broadcast);
    CHECK(db.backends.size() == 3);
    CHECK(f.route({"INFO"}).kind == RouteKind::Local);
    CHECK(f.route({"PING"}).kind == RouteKind::Local);
  }

  TEST_CASE("refused commands name themselves") {
    Fixture f;
    for (auto name : {"SHUTDOWN", "BGSAVE", "MONITOR", "SWAPDB"}) {
      std::vector<std::string_view> args = {name};
      if (std::string_view(name) == "SWAPDB") {
        args = {"SWAPDB", "0", "1"};
      }
      const RoutePlan& p = f.route(args);
      CHECK(p.kind == RouteKind::Error);
      CHECK(p.error.find("not supported by foreshard") != std::string::npos);
    }
  }
}
