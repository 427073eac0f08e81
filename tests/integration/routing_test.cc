// Routing through foreshard against three real redis-servers: keys land on
// the owner the segment map names, multi-key commands split and merge in
// order, pipelines keep order, hash tags co-locate, CROSSSLOT and refusals
// behave as documented, malformed input gets a protocol error.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/cluster.h"

using testsupport::Fleet;
using testsupport::Reply;
using testsupport::raw_exchange;


TEST_SUITE("Routing") {
  TEST_CASE("each key written through foreshard sits on exactly the backend the map names") {
    Fleet f;
    REQUIRE(f.start());
    std::vector<redisContext*> direct;
    for (auto& r : f.redis) {
      direct.push_back(r->connect());
    }
    std::vector<int> per_backend(3, 0);
    for (int i = 0; i < 1000; ++i) {
      std::string k = "key:" + std::to_string(i);
      Reply set(redisCommand(f.client, "SET %s v%d", k.c_str(), i));
      REQUIRE(set.str() == "OK");
      int owner = f.owner_of(k);
      REQUIRE(owner >= 0);
      per_backend[owner]++;
      for (int b = 0; b < 3; ++b) {
        Reply e(redisCommand(direct[b], "EXISTS %s", k.c_str()));
        CHECK(e->integer == (b == owner ? 1 : 0));
      }
    }
    for (int b = 0; b < 3; ++b) {
      CHECK(per_backend[b] > 200);  // capacities are equal: roughly a third each
      redisFree(direct[b]);
    }
  }

  TEST_CASE("MSET and MGET of 1,000 keys over all backends keep the key order") {
    Fleet f;
    REQUIRE(f.start());
    std::vector<std::string> args = {"MSET"};
    for (int i = 0; i < 1000; ++i) {
      args.push_back("mk:" + std::to_string(i));
      args.push_back("value-" + std::to_string(i));
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    Reply ok(redisCommandArgv(f.client, int(argv.size()), argv.data(), lens.data()));
    REQUIRE(ok.str() == "OK");
    std::set<int> owners;
    std::vector<std::string> mget = {"MGET"};
    for (int i = 999; i >= 0; --i) {  // reverse order, plus a missing key in the middle
      mget.push_back("mk:" + std::to_string(i));
      owners.insert(f.owner_of(mget.back()));
      if (i == 500) {
        mget.push_back("mk:missing");
      }
    }
    CHECK(owners.size() == 3);
    argv.clear();
    lens.clear();
    for (auto& a : mget) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    Reply vals(redisCommandArgv(f.client, int(argv.size()), argv.data(), lens.data()));
    REQUIRE(vals->type == REDIS_REPLY_ARRAY);
    REQUIRE(vals->elements == 1001);
    size_t j = 0;
    for (int i = 999; i >= 0; --i) {
      CHECK(std::string(vals->element[j]->str) == "value-" + std::to_string(i));
      ++j;
      if (i == 500) {
        CHECK(vals->element[j]->type == REDIS_REPLY_NIL);
        ++j;
      }
    }
    std::vector<std::string> del = {"DEL", "mk:1", "mk:2", "mk:3", "mk:4", "mk:5", "nokey"};
    argv.clear();
    lens.clear();
    for (auto& a : del) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    Reply n(redisCommandArgv(f.client, int(argv.size()), argv.data(), lens.data()));
    CHECK(n->integer == 5);
    Reply ex(redisCommand(f.client, "EXISTS mk:1 mk:6 mk:7 mk:7"));
    CHECK(ex->integer == 3);
    Reply size(redisCommand(f.client, "DBSIZE"));
    CHECK(size->integer == 995);
  }

  TEST_CASE("a pipeline of 10,000 mixed commands returns every reply in order") {
    Fleet f;
    REQUIRE(f.start());
    for (int i = 0; i < 10000; ++i) {
      switch (i % 5) {
        case 0: redisAppendCommand(f.client, "SET p:%d %d", i, i); break;
        case 1: redisAppendCommand(f.client, "GET p:%d", i - 1); break;
        case 2: redisAppendCommand(f.client, "INCR c:%d", i % 97); break;
        case 3: redisAppendCommand(f.client, "PING"); break;
        case 4: redisAppendCommand(f.client, "MGET p:%d p:%d", i - 4, i - 4); break;
      }
    }
    std::map<int, long long> counters;
    for (int i = 0; i < 10000; ++i) {
      void* raw = nullptr;
      REQUIRE(redisGetReply(f.client, &raw) == REDIS_OK);
      Reply r(raw);
      switch (i % 5) {
        case 0: CHECK(r.str() == "OK"); break;
        case 1: CHECK(r.str() == std::to_string(i - 1)); break;
        case 2: CHECK(r->integer == ++counters[i % 97]); break;
        case 3: CHECK(r.str() == "PONG"); break;
        case 4:
          REQUIRE(r->elements == 2);
          CHECK(std::string(r->element[1]->str) == std::to_string(i - 4));
          break;
      }
    }
  }

  TEST_CASE("hash-tagged keys land together and same-slot commands work on them") {
    Fleet f;
    REQUIRE(f.start());
    int owner = f.owner_of("{user1000}.following");
    for (const char* k : {"{user1000}.following", "{user1000}.followers", "{user1000}x"}) {
      CHECK(f.owner_of(k) == owner);
      Reply r(redisCommand(f.client, "SADD %s a b", k));
      CHECK(r->integer == 2);
    }
    Reply inter(redisCommand(f.client, "SINTERSTORE {user1000}.both {user1000}.following {user1000}.followers"));
    CHECK(inter->integer == 2);
    Reply ren(redisCommand(f.client, "RENAME {user1000}.both {user1000}.renamed"));
    CHECK(ren.str() == "OK");
    redisContext* d = f.redis[owner]->connect();
    Reply there(redisCommand(d, "SCARD {user1000}.renamed"));
    CHECK(there->integer == 2);
    redisFree(d);
  }

  TEST_CASE("RENAME across slots gets CROSSSLOT and the connection stays usable") {
    Fleet f;
    REQUIRE(f.start());
    Reply set(redisCommand(f.client, "SET a 1"));
    Reply r(redisCommand(f.client, "RENAME a b"));
    REQUIRE(r->type == REDIS_REPLY_ERROR);
    CHECK(r.str().rfind("CROSSSLOT", 0) == 0);
    Reply ms(redisCommand(f.client, "MSETNX a 1 b 2"));
    CHECK(ms.str().rfind("CROSSSLOT", 0) == 0);
    Reply get(redisCommand(f.client, "GET a"));
    CHECK(get.str() == "1");
  }

  TEST_CASE("refused commands get a clear error and the connection stays usable") {
    Fleet f;
    REQUIRE(f.start());
    for (const char* c : {"SHUTDOWN", "DEBUG SLEEP 0", "MOVE k 1", "SWAPDB 0 1", "MONITOR",
                          "CLUSTER INFO", "SELECT 3", "REPLICAOF NO ONE"}) {
      Reply r(redisCommand(f.client, c));
      REQUIRE(r.ok());
      CHECK_MESSAGE(r->type == REDIS_REPLY_ERROR, c);
      Reply p(redisCommand(f.client, "PING"));
      CHECK(p.str() == "PONG");
    }
    Reply r(redisCommand(f.client, "SHUTDOWN"));
    CHECK(r.str() == "ERR command 'shutdown' is not supported by foreshard");
    Reply u(redisCommand(f.client, "NOSUCHCOMMAND x"));
    CHECK(u.str().rfind("ERR unknown command 'NOSUCHCOMMAND'", 0) == 0);
    Reply a(redisCommand(f.client, "GET"));
    CHECK(a.str() == "ERR wrong number of arguments for 'get' command");
  }

  TEST_CASE("malformed RESP gets a protocol error and inline commands work") {
    Fleet f;
    REQUIRE(f.start());
    std::string bad = raw_exchange(f.proxy->port(), "*1\r\n$abc\r\n");
    CHECK(bad.rfind("-ERR Protocol error", 0) == 0);
    std::string big = raw_exchange(f.proxy->port(), "*99999999999\r\n");
    CHECK(big.rfind("-ERR Protocol error", 0) == 0);
    std::string inl = raw_exchange(f.proxy->port(), "PING\r\nSET inl \"a b\"\r\nGET inl\r\n");
    CHECK(inl == "+PONG\r\n+OK\r\n$3\r\na b\r\n");
    // The proxy is still fine for everyone else.
    Reply p(redisCommand(f.client, "PING"));
    CHECK(p.str() == "PONG");
  }

  TEST_CASE("what clients send when they connect never errors") {
    Fleet f;
    REQUIRE(f.start());
    Reply setinfo(redisCommand(f.client, "CLIENT SETINFO lib-name hiredis"));
    CHECK(setinfo.str() == "OK");
    Reply name(redisCommand(f.client, "CLIENT SETNAME tester"));
    CHECK(name.str() == "OK");
    Reply getname(redisCommand(f.client, "CLIENT GETNAME"));
    CHECK(getname.str() == "tester");
    Reply info(redisCommand(f.client, "INFO"));
    CHECK(info.str().find("# Backends") != std::string::npos);
    CHECK(info.str().find("redis_version:") != std::string::npos);
    Reply hello(redisCommand(f.client, "HELLO 2"));
    CHECK(hello->type == REDIS_REPLY_ARRAY);
    Reply echo(redisCommand(f.client, "ECHO hi"));
    CHECK(echo.str() == "hi");
    Reply sel(redisCommand(f.client, "SELECT 0"));
    CHECK(sel.str() == "OK");
    Reply count(redisCommand(f.client, "COMMAND COUNT"));
    CHECK(count->integer >= 200);
    Reply cmd(redisCommand(f.client, "COMMAND INFO get"));
    REQUIRE(cmd->type == REDIS_REPLY_ARRAY);
    CHECK(cmd->element[0]->type == REDIS_REPLY_ARRAY);
  }

  TEST_CASE("the Prometheus endpoint counts requests per backend and class") {
    Fleet f;
    REQUIRE(f.start());
    for (int i = 0; i < 100; ++i) {
      Reply r(redisCommand(f.client, "SET m:%d x", i));
    }
    Reply bad(redisCommand(f.client, "RENAME m:1 m:2"));
    std::string body = raw_exchange(f.proxy->metrics_port(),
                                    "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n", 1000);
    CHECK(body.find("200 OK") != std::string::npos);
    CHECK(body.find("foreshard_requests_total{backend=\"redis-1\",class=\"single-key\"}") !=
          std::string::npos);
    CHECK(body.find("foreshard_request_errors_total{backend=\"proxy\",class=\"same-slot\"} 1") !=
          std::string::npos);
    CHECK(body.find("foreshard_backend_up{backend=\"redis-3\"} 1") != std::string::npos);
    CHECK(body.find("foreshard_backend_request_duration_seconds_bucket") != std::string::npos);
    CHECK(body.find("foreshard_client_connections 1") != std::string::npos);
  }
}
