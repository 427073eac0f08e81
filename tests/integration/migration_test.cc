// Segment moves through the admin commands against real redis-servers: a
// MIGRATE moves the keys and only them, SPLIT/MERGE change the map and keep
// every key reachable, and a restart in the middle of a move (a map saved as
// MIGRATING, a partial copy on the destination) goes back to the source and
// removes the partial copy. The long concurrent test is tests/migration/.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "proxy/map_store.h"
#include "proxy/slot.h"
#include "tests/integration/cluster.h"

using testsupport::Fleet;
using testsupport::Reply;

namespace {

// Keys of segment `seg` (segments of `size` slots) named prefix:N.
std::vector<std::string> keys_of(uint32_t seg, uint32_t size, const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; int(out.size()) < n; ++i) {
    std::string k = prefix + ":" + std::to_string(i);
    if (proxy::key_slot(k, 16384) / size == seg) {
      out.push_back(k);
    }
  }
  return out;
}

long long dbsize(const testsupport::RedisServer& r) {
  redisContext* c = r.connect();
  Reply n(redisCommand(c, "DBSIZE"));
  long long v = n->integer;
  redisFree(c);
  return v;
}

bool wait_for(const std::function<bool()>& cond, int ms = 10000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

}  // namespace

TEST_SUITE("Migration") {
  TEST_CASE("MIGRATE moves a segment's keys, TTLs included, and nothing else") {
    Fleet f(2, "segmentSize: 4096\nmigrationPriority: high\n");
    REQUIRE(f.start());
    // 4 segments: 0-1 on redis-1, 2-3 on redis-2.
    auto moving = keys_of(0, 4096, "m", 300);
    auto staying = keys_of(1, 4096, "s", 100);
    for (const auto& k : moving) {
      Reply r(redisCommand(f.client, "SET %s v-%s EX 1000", k.c_str(), k.c_str()));
    }
    for (const auto& k : staying) {
      Reply r(redisCommand(f.client, "SET %s v-%s", k.c_str(), k.c_str()));
    }
    REQUIRE(dbsize(*f.redis[0]) == 400);
    Reply mv(redisCommand(f.client, "FORESHARD MIGRATE 0 redis-2"));
    CHECK(mv.str().rfind("OK segment 0", 0) == 0);
    REQUIRE(wait_for([&] {
      Reply m(redisCommand(f.client, "FORESHARD MIGRATIONS"));
      return m.str().find("done: 1") != std::string::npos;
    }));
    Reply seg(redisCommand(f.client, "FORESHARD SEGMENTS"));
    CHECK(seg.str().find("seg 0 slots 0-4095 owner redis-2 stable") != std::string::npos);
    CHECK(dbsize(*f.redis[0]) == 100);
    CHECK(dbsize(*f.redis[1]) == 300);
    for (const auto& k : moving) {
      Reply g(redisCommand(f.client, "GET %s", k.c_str()));
      REQUIRE(g.str() == "v-" + k);
      Reply t(redisCommand(f.client, "TTL %s", k.c_str()));
      CHECK(t->integer > 900);
    }
    for (const auto& k : staying) {
      Reply g(redisCommand(f.client, "GET %s", k.c_str()));
      CHECK(g.str() == "v-" + k);
    }
    Reply same(redisCommand(f.client, "FORESHARD MIGRATE 0 redis-2"));
    CHECK(same.str().find("already lives on") != std::string::npos);
    Reply bad(redisCommand(f.client, "FORESHARD MIGRATE 99 redis-1"));
    CHECK(bad->type == REDIS_REPLY_ERROR);
  }

  TEST_CASE("SPLIT and MERGE change the map on disk and every key stays readable") {
    Fleet f(2, "segmentSize: 4096\n");
    REQUIRE(f.start());
    auto keys = keys_of(0, 4096, "k", 200);
    for (const auto& k : keys) {
      Reply r(redisCommand(f.client, "SET %s 1", k.c_str()));
    }
    Reply split(redisCommand(f.client, "FORESHARD SPLIT 0 1000"));
    CHECK(split.str().find("slots 0-999 and segment 1 slots 1000-4095") != std::string::npos);
    std::string file = testsupport::read_file(f.proxy->data_dir() + "/segment-map");
    CHECK(file.find("0 999") != std::string::npos);
    for (const auto& k : keys) {
      Reply g(redisCommand(f.client, "GET %s", k.c_str()));
      REQUIRE(g.str() == "1");
    }
    Reply bad(redisCommand(f.client, "FORESHARD MERGE 2 3"));  // different owners
    CHECK(bad->type == REDIS_REPLY_ERROR);
    Reply merge(redisCommand(f.client, "FORESHARD MERGE 0 1"));
    CHECK(merge.str().find("slots 0-4095") != std::string::npos);
    Reply seg(redisCommand(f.client, "FORESHARD SEGMENTS"));
    CHECK(seg.str().rfind("epoch 3, 4 segments", 0) == 0);
  }

  TEST_CASE("a restart during a move returns the segment to its source and removes the copy") {
    Fleet f(2, "segmentSize: 4096\n");
    REQUIRE(f.start());
    auto keys = keys_of(0, 4096, "c", 100);
    for (const auto& k : keys) {
      Reply r(redisCommand(f.client, "SET %s src", k.c_str()));
    }
    redisFree(f.client);
    f.client = nullptr;
    f.proxy->stop();
    REQUIRE(f.proxy->wait_exit(100) == 0);
    // What a crash mid-copy leaves: the map saved as MIGRATING(redis-1 ->
    // redis-2) and part of the keys already on redis-2.
    {
      proxy::MapStore store(f.proxy->data_dir());
      auto map = store.load(f.names());
      REQUIRE(map.is_ok());
      auto migrating = map.value().with_state(0, proxy::SegmentState::Migrating, 1);
      REQUIRE(migrating.is_ok());
      REQUIRE(store.save(migrating.value()).is_ok());
      redisContext* dst = f.redis[1]->connect();
      for (size_t i = 0; i < 40; ++i) {
        Reply r(redisCommand(dst, "SET %s partial", keys[i].c_str()));
      }
      redisFree(dst);
    }
    REQUIRE(dbsize(*f.redis[1]) == 40);
    REQUIRE(f.start());
    Reply seg(redisCommand(f.client, "FORESHARD SEGMENTS"));
    CHECK(seg.str().find("seg 0 slots 0-4095 owner redis-1 stable") != std::string::npos);
    CHECK(wait_for([&] { return dbsize(*f.redis[1]) == 0; }));
    for (const auto& k : keys) {
      Reply g(redisCommand(f.client, "GET %s", k.c_str()));
      REQUIRE(g.str() == "src");
    }
    std::string journal = testsupport::read_file(f.proxy->data_dir() + "/cleanups");
    CHECK(journal.empty());
  }
}
