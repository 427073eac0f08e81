// The segment map is state: it survives a restart (same owners, same epoch),
// and a first start in front of an existing fleet never hides data.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "tests/integration/cluster.h"

using testsupport::Fleet;
using testsupport::Foreshard;
using testsupport::RedisServer;
using testsupport::Reply;

TEST_SUITE("Restart") {
  TEST_CASE("restarting foreshard keeps the segment map: same owners and epoch") {
    Fleet f;
    REQUIRE(f.start());
    std::string before = testsupport::read_file(f.proxy->data_dir() + "/segment-map");
    REQUIRE(!before.empty());
    Reply set(redisCommand(f.client, "SET survivor 1"));
    redisFree(f.client);
    f.client = nullptr;
    f.proxy->stop();
    CHECK(f.proxy->wait_exit(100) == 0);  // a clean stop on SIGTERM
    REQUIRE(f.start());
    std::string after = testsupport::read_file(f.proxy->data_dir() + "/segment-map");
    CHECK(before == after);
    Reply get(redisCommand(f.client, "GET survivor"));
    CHECK(get.str() == "1");
  }

  TEST_CASE("a first start in front of one backend holding 10,000 keys serves all of them") {
    std::vector<std::unique_ptr<RedisServer>> redis;
    std::vector<uint16_t> ports;
    for (int i = 0; i < 3; ++i) {
      redis.push_back(std::make_unique<RedisServer>());
      REQUIRE(redis.back()->start());
      ports.push_back(redis.back()->port());
    }
    redisContext* d = redis[1]->connect();
    for (int i = 0; i < 10000; ++i) {
      redisAppendCommand(d, "SET old:%d %d", i, i);
    }
    for (int i = 0; i < 10000; ++i) {
      void* r = nullptr;
      REQUIRE(redisGetReply(d, &r) == REDIS_OK);
      freeReplyObject(r);
    }
    redisFree(d);
    Foreshard proxy(ports);
    REQUIRE(proxy.start());
    redisContext* c = proxy.connect();
    for (int i = 0; i < 10000; ++i) {
      redisAppendCommand(c, "GET old:%d", i);
    }
    int found = 0;
    for (int i = 0; i < 10000; ++i) {
      void* raw = nullptr;
      REQUIRE(redisGetReply(c, &raw) == REDIS_OK);
      Reply r(raw);
      found += r.str() == std::to_string(i);
    }
    CHECK(found == 10000);
    Reply n(redisCommand(c, "DBSIZE"));
    CHECK(n->integer == 10000);
    redisFree(c);
  }

  TEST_CASE("a first start in front of two non-empty backends refuses with a clear message") {
    std::vector<std::unique_ptr<RedisServer>> redis;
    std::vector<uint16_t> ports;
    for (int i = 0; i < 3; ++i) {
      redis.push_back(std::make_unique<RedisServer>());
      REQUIRE(redis.back()->start());
      ports.push_back(redis.back()->port());
    }
    for (int i : {0, 2}) {
      redisContext* d = redis[i]->connect();
      Reply r(redisCommand(d, "SET existing %d", i));
      redisFree(d);
    }
    Foreshard proxy(ports);
    CHECK_FALSE(proxy.start(5000));
    CHECK(proxy.wait_exit(5000) == 1);
    std::string log = proxy.log();
    CHECK(log.find("several backends already hold keys") != std::string::npos);
    CHECK(log.find("redis-1 (1 keys)") != std::string::npos);
    CHECK(log.find("ignoreExistingData") != std::string::npos);

    SUBCASE("unless the config says their data may be ignored") {
      Foreshard ok(ports, "ignoreExistingData: true\n");
      CHECK(ok.start());
    }
  }

  TEST_CASE("the load history survives a restart and the forecaster reports from it") {
    Fleet f(3, "telemetry:\n  step: 1s\n  refit: 2s\n  save: 1s\n");
    REQUIRE(f.start());
    for (int round = 0; round < 30; ++round) {
      for (int i = 0; i < 200; ++i) {
        redisAppendCommand(f.client, "SET h:%d %d", i, round);
      }
      for (int i = 0; i < 200; ++i) {
        void* raw = nullptr;
        REQUIRE(redisGetReply(f.client, &raw) == REDIS_OK);
        freeReplyObject(raw);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Reply forecast(redisCommand(f.client, "FORESHARD FORECAST"));
    CHECK(forecast.str().find("backend redis-1") != std::string::npos);
    Reply before(redisCommand(f.client, "FORESHARD STATUS"));
    CHECK(before.str().find("history started fresh") != std::string::npos);
    redisFree(f.client);
    f.client = nullptr;
    f.proxy->stop();
    REQUIRE(f.start());
    Reply after(redisCommand(f.client, "FORESHARD STATUS"));
    INFO(after.str());
    CHECK(after.str().find("history loaded from") != std::string::npos);
    // The points written before the restart are still there.
    CHECK(after.str().find("history: 0 of") == std::string::npos);
  }
}
