// A backend that stops: commands for its segments fail fast with an error
// naming it, other segments keep serving; when it comes back, foreshard
// reconnects by itself.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/integration/cluster.h"

using testsupport::Fleet;
using testsupport::Reply;

namespace {

// First key (k:0, k:1, ...) owned by backend `b`.
std::string key_on(const Fleet& f, int b) {
  for (int i = 0;; ++i) {
    std::string k = "k:" + std::to_string(i);
    if (f.owner_of(k) == b) {
      return k;
    }
  }
}

}  // namespace

TEST_SUITE("BackendFailure") {
  TEST_CASE("a stopped backend errors fast for its keys only and is back without a restart") {
    Fleet f;
    REQUIRE(f.start());
    std::string k0 = key_on(f, 0), k1 = key_on(f, 1), k2 = key_on(f, 2);
    for (const auto& k : {k0, k1, k2}) {
      Reply r(redisCommand(f.client, "SET %s before", k.c_str()));
      REQUIRE(r.str() == "OK");
    }
    uint16_t port = f.redis[1]->port();
    f.redis[1]->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    auto t0 = std::chrono::steady_clock::now();
    Reply down(redisCommand(f.client, "GET %s", k1.c_str()));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0).count();
    REQUIRE(down->type == REDIS_REPLY_ERROR);
    CHECK(down.str().find("redis-2") != std::string::npos);
    CHECK(ms <= 1500);  // within the configured request timeout (1 s) plus slack
    Reply up0(redisCommand(f.client, "GET %s", k0.c_str()));
    CHECK(up0.str() == "before");
    Reply up2(redisCommand(f.client, "GET %s", k2.c_str()));
    CHECK(up2.str() == "before");
    // A multi-key command that touches the dead backend reports it, and only it.
    Reply mget(redisCommand(f.client, "MGET %s %s", k0.c_str(), k1.c_str()));
    CHECK(mget->type == REDIS_REPLY_ERROR);

    f.redis[1] = std::make_unique<testsupport::RedisServer>(port);
    REQUIRE(f.redis[1]->start());
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {
      Reply r(redisCommand(f.client, "SET %s after", k1.c_str()));
      back = r.str() == "OK";
      if (!back) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    CHECK(back);
    for (const auto& k : {k0, k2}) {
      Reply r(redisCommand(f.client, "GET %s", k.c_str()));
      CHECK(r.str() == "before");
    }
  }

  TEST_CASE("a hung backend times out within the request timeout; the others keep serving") {
    Fleet f;
    REQUIRE(f.start());
    std::string k0 = key_on(f, 0), k2 = key_on(f, 2);
    Reply warm(redisCommand(f.client, "SET %s v", k0.c_str()));
    kill(f.redis[2]->pid(), SIGSTOP);  // accepts TCP, never answers
    redisContext* other = f.proxy->connect();
    auto t0 = std::chrono::steady_clock::now();
    redisAppendCommand(f.client, "GET %s", k2.c_str());
    // While that request hangs, another client is served at once.
    Reply fast(redisCommand(other, "GET %s", k0.c_str()));
    auto fast_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t0).count();
    CHECK(fast.str() == "v");
    CHECK(fast_ms < 500);
    void* raw = nullptr;
    REQUIRE(redisGetReply(f.client, &raw) == REDIS_OK);
    Reply hung(raw);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0).count();
    CHECK(hung->type == REDIS_REPLY_ERROR);
    CHECK(hung.str().find("redis-3") != std::string::npos);
    CHECK(hung.str().find("timed out") != std::string::npos);
    CHECK(ms >= 900);
    CHECK(ms < 2500);
    kill(f.redis[2]->pid(), SIGCONT);
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {
      Reply r(redisCommand(f.client, "SET %s after", k2.c_str()));
      back = r.str() == "OK";
      if (!back) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    CHECK(back);
    redisFree(other);
  }
}
