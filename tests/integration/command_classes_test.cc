// The command classes beyond plain routing, through foreshard against three
// real redis-servers: transactions with WATCH, blocking commands, pub/sub,
// scripts, SCAN across backends, RESP3, users and admin-only commands.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "tests/integration/cluster.h"

using testsupport::Fleet;
using testsupport::Reply;

TEST_SUITE("CommandClasses") {
  TEST_CASE("MULTI/EXEC runs atomically and a conflicting write after WATCH aborts EXEC") {
    Fleet f;
    REQUIRE(f.start());
    Reply ok(redisCommand(f.client, "MULTI"));
    CHECK(ok.str() == "OK");
    Reply q1(redisCommand(f.client, "INCR {acct}.balance"));
    CHECK(q1.str() == "QUEUED");
    Reply q2(redisCommand(f.client, "RPUSH {acct}.log deposit"));
    CHECK(q2.str() == "QUEUED");
    Reply ex(redisCommand(f.client, "EXEC"));
    REQUIRE(ex->type == REDIS_REPLY_ARRAY);
    REQUIRE(ex->elements == 2);
    CHECK(ex->element[0]->integer == 1);
    CHECK(ex->element[1]->integer == 1);

    redisContext* other = f.proxy->connect();
    Reply w(redisCommand(f.client, "WATCH {acct}.balance"));
    CHECK(w.str() == "OK");
    Reply conflict(redisCommand(other, "SET {acct}.balance 100"));
    CHECK(conflict.str() == "OK");
    Reply m(redisCommand(f.client, "MULTI"));
    Reply q(redisCommand(f.client, "INCR {acct}.balance"));
    Reply aborted(redisCommand(f.client, "EXEC"));
    CHECK(aborted->type == REDIS_REPLY_NIL);
    Reply bal(redisCommand(f.client, "GET {acct}.balance"));
    CHECK(bal.str() == "100");

    // Without a conflict the watched transaction goes through.
    Reply w2(redisCommand(f.client, "WATCH {acct}.balance"));
    Reply m2(redisCommand(f.client, "MULTI"));
    Reply q3(redisCommand(f.client, "INCR {acct}.balance"));
    Reply ex2(redisCommand(f.client, "EXEC"));
    REQUIRE(ex2->type == REDIS_REPLY_ARRAY);
    CHECK(ex2->element[0]->integer == 101);
    redisFree(other);
  }

  TEST_CASE("a transaction over two slots is refused like Redis Cluster refuses it") {
    Fleet f;
    REQUIRE(f.start());
    Reply m(redisCommand(f.client, "MULTI"));
    Reply a(redisCommand(f.client, "SET a 1"));
    CHECK(a.str() == "QUEUED");
    Reply b(redisCommand(f.client, "SET b 2"));
    CHECK(b.str().rfind("CROSSSLOT", 0) == 0);
    Reply ex(redisCommand(f.client, "EXEC"));
    CHECK(ex.str().rfind("EXECABORT", 0) == 0);
    Reply get(redisCommand(f.client, "GET a"));
    CHECK(get->type == REDIS_REPLY_NIL);
    Reply d(redisCommand(f.client, "DISCARD"));
    CHECK(d.str() == "ERR DISCARD without MULTI");
  }

  TEST_CASE("BLPOP is woken by an LPUSH from another client; other clients are not held up") {
    Fleet f;
    REQUIRE(f.start());
    redisContext* pusher = f.proxy->connect();
    redisAppendCommand(f.client, "BLPOP jobs 5");
    redisBufferWrite(f.client, nullptr);
    int done = 0;
    while (!done) {
      redisBufferWrite(f.client, &done);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto t0 = std::chrono::steady_clock::now();
    Reply ping(redisCommand(pusher, "PING"));
    CHECK(ping.str() == "PONG");
    Reply push(redisCommand(pusher, "LPUSH jobs job-1"));
    CHECK(push->integer == 1);
    void* raw = nullptr;
    REQUIRE(redisGetReply(f.client, &raw) == REDIS_OK);
    Reply popped(raw);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0).count();
    REQUIRE(popped->type == REDIS_REPLY_ARRAY);
    CHECK(std::string(popped->element[1]->str) == "job-1");
    CHECK(ms < 1000);
    // A blocking call that times out returns nil, and the session goes on.
    Reply none(redisCommand(f.client, "BLPOP empty 0.2"));
    CHECK(none->type == REDIS_REPLY_NIL);
    Reply after(redisCommand(f.client, "PING"));
    CHECK(after.str() == "PONG");
    redisFree(pusher);
  }

  TEST_CASE("pub/sub delivers to two subscribers and a subscriber may only subscribe") {
    Fleet f;
    REQUIRE(f.start());
    redisContext* s1 = f.proxy->connect();
    redisContext* s2 = f.proxy->connect();
    Reply sub1(redisCommand(s1, "SUBSCRIBE news"));
    REQUIRE(sub1->type == REDIS_REPLY_ARRAY);
    CHECK(std::string(sub1->element[0]->str) == "subscribe");
    Reply sub2(redisCommand(s2, "PSUBSCRIBE ne*"));
    REQUIRE(sub2->type == REDIS_REPLY_ARRAY);
    Reply n(redisCommand(f.client, "PUBLISH news hello"));
    CHECK(n->integer == 2);
    void* raw = nullptr;
    REQUIRE(redisGetReply(s1, &raw) == REDIS_OK);
    Reply m1(raw);
    CHECK(std::string(m1->element[0]->str) == "message");
    CHECK(std::string(m1->element[2]->str) == "hello");
    REQUIRE(redisGetReply(s2, &raw) == REDIS_OK);
    Reply m2(raw);
    CHECK(std::string(m2->element[0]->str) == "pmessage");
    CHECK(std::string(m2->element[3]->str) == "hello");
    Reply refused(redisCommand(s1, "GET x"));
    CHECK(refused.str().find("only (P|S)SUBSCRIBE") != std::string::npos);
    Reply unsub(redisCommand(s1, "UNSUBSCRIBE news"));
    REQUIRE(unsub->type == REDIS_REPLY_ARRAY);
    CHECK(unsub->element[2]->integer == 0);
    Reply get(redisCommand(s1, "GET x"));  // back to normal after the last unsubscribe
    CHECK(get->type == REDIS_REPLY_NIL);
    redisFree(s1);
    redisFree(s2);
  }

  TEST_CASE("EVAL with keys and EVALSHA after SCRIPT LOAD work wherever the keys live") {
    Fleet f;
    REQUIRE(f.start());
    Reply e(redisCommand(f.client, "EVAL %s 2 {s}a {s}b 5", "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCRBY', KEYS[2], ARGV[1])"));
    CHECK(e->integer == 5);
    Reply sha(redisCommand(f.client, "SCRIPT LOAD %s", "return redis.call('GET', KEYS[1])"));
    REQUIRE(sha->type == REDIS_REPLY_STRING);
    for (const char* k : {"x1", "x2", "x3", "x4", "x5", "x6"}) {
      Reply set(redisCommand(f.client, "SET %s v-%s", k, k));
      Reply r(redisCommand(f.client, "EVALSHA %s 1 %s", sha.str().c_str(), k));
      CHECK(r.str() == std::string("v-") + k);
    }
    Reply exists(redisCommand(f.client, "SCRIPT EXISTS %s 0000000000000000000000000000000000000000", sha.str().c_str()));
    REQUIRE(exists->elements == 2);
    CHECK(exists->element[0]->integer == 1);
    CHECK(exists->element[1]->integer == 0);
    Reply cross(redisCommand(f.client, "EVAL %s 2 a b", "return 1"));
    CHECK(cross.str().rfind("CROSSSLOT", 0) == 0);
    Reply keyless(redisCommand(f.client, "EVAL %s 0", "return 7"));
    CHECK(keyless->integer == 7);
  }

  TEST_CASE("SCAN returns every one of 10,000 keys exactly once across all backends") {
    Fleet f;
    REQUIRE(f.start());
    for (int i = 0; i < 10000; ++i) {
      redisAppendCommand(f.client, "SET scan:%d %d", i, i);
    }
    for (int i = 0; i < 10000; ++i) {
      void* raw = nullptr;
      REQUIRE(redisGetReply(f.client, &raw) == REDIS_OK);
      freeReplyObject(raw);
    }
    // A stray key on a backend that does not own its segment must not show.
    int owner = f.owner_of("stray");
    redisContext* wrong = f.redis[(owner + 1) % 3]->connect();
    Reply stray(redisCommand(wrong, "SET stray 1"));
    redisFree(wrong);
    std::multiset<std::string> seen;
    std::string cursor = "0";
    int calls = 0;
    do {
      Reply r(redisCommand(f.client, "SCAN %s COUNT 500 MATCH scan:*", cursor.c_str()));
      REQUIRE(r->type == REDIS_REPLY_ARRAY);
      cursor = r->element[0]->str;
      for (size_t i = 0; i < r->element[1]->elements; ++i) {
        seen.insert(r->element[1]->element[i]->str);
      }
      ++calls;
    } while (cursor != "0" && calls < 10000);
    CHECK(seen.size() == 10000);
    std::set<std::string> unique(seen.begin(), seen.end());
    CHECK(unique.size() == 10000);
    Reply all(redisCommand(f.client, "SCAN 0 COUNT 100000 MATCH stray"));
    Reply keys(redisCommand(f.client, "KEYS stray"));
    CHECK(keys->elements == 0);
    Reply bad(redisCommand(f.client, "SCAN notanumber"));
    CHECK(bad.str() == "ERR invalid cursor");
  }

  TEST_CASE("HELLO 3 switches to RESP3 and proxy-made replies follow it") {
    Fleet f;
    REQUIRE(f.start());
    // hiredis 0.14 cannot read RESP3, so this speaks it by hand.
    std::string out = testsupport::raw_exchange(
        f.proxy->port(),
        "HELLO 3\r\nSET r3 v\r\nGET r3\r\nGET nokey\r\nMGET r3 nokey\r\nCLIENT GETNAME\r\n", 800);
    CHECK(out.rfind("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n", 0) == 0);
    CHECK(out.find(":3\r\n") != std::string::npos);  // proto 3 in the HELLO map
    size_t rest = out.find("+OK\r\n");
    REQUIRE(rest != std::string::npos);
    CHECK(out.substr(rest) == "+OK\r\n$1\r\nv\r\n_\r\n*2\r\n$1\r\nv\r\n_\r\n_\r\n");
  }

  TEST_CASE("users: a readonly user cannot write; FLUSHALL needs the admin password") {
    Fleet f(3, "password: pw\nadminPassword: adm\nusers:\n  - name: reader\n    password: rpw\n    readonly: true\n");
    REQUIRE(f.proxy->start());  // PING without AUTH is refused, so start() checks the log
    f.client = f.proxy->connect();
    Reply noauth(redisCommand(f.client, "GET x"));
    CHECK(noauth.str().rfind("NOAUTH", 0) == 0);
    Reply auth(redisCommand(f.client, "AUTH reader rpw"));
    CHECK(auth.str() == "OK");
    Reply write(redisCommand(f.client, "SET x 1"));
    CHECK(write.str().rfind("NOPERM", 0) == 0);
    Reply read(redisCommand(f.client, "GET x"));
    CHECK(read->type == REDIS_REPLY_NIL);
    Reply def(redisCommand(f.client, "AUTH pw"));
    CHECK(def.str() == "OK");
    Reply flush(redisCommand(f.client, "FLUSHALL"));
    CHECK(flush.str().rfind("NOPERM", 0) == 0);
    Reply admin(redisCommand(f.client, "AUTH admin adm"));
    CHECK(admin.str() == "OK");
    Reply flushed(redisCommand(f.client, "FLUSHALL"));
    CHECK(flushed.str() == "OK");
  }

  TEST_CASE("CLIENT LIST and CLIENT KILL see the clients of every worker") {
    Fleet f;
    REQUIRE(f.start());
    // Connect until both workers hold a client (SO_REUSEPORT spreads them).
    std::vector<redisContext*> conns;
    std::set<std::string> workers;
    for (int i = 0; i < 32 && workers.size() < 2; ++i) {
      redisContext* c = f.proxy->connect();
      REQUIRE(c != nullptr);
      Reply info(redisCommand(c, "CLIENT INFO"));
      std::string line = info.str();
      workers.insert(line.substr(line.find("worker=")));
      conns.push_back(c);
    }
    REQUIRE(workers.size() == 2);
    Reply name(redisCommand(conns.back(), "CLIENT SETNAME victim"));
    CHECK(name.str() == "OK");
    Reply id(redisCommand(conns.back(), "CLIENT ID"));
    long long victim = id->integer;

    Reply list(redisCommand(f.client, "CLIENT LIST"));
    std::string text = list.str();
    size_t lines = std::count(text.begin(), text.end(), '\n');
    CHECK(lines == conns.size() + 1);  // every connection, whichever worker holds it
    CHECK(text.find("id=" + std::to_string(victim) + " ") != std::string::npos);
    CHECK(text.find("name=victim") != std::string::npos);
    CHECK(text.find("worker=0") != std::string::npos);
    CHECK(text.find("worker=1") != std::string::npos);

    Reply kill(redisCommand(f.client, "CLIENT KILL ID %lld", victim));
    CHECK(kill->type == REDIS_REPLY_INTEGER);
    CHECK(kill->integer == 1);
    Reply after(redisCommand(conns.back(), "PING"));
    CHECK(after.operator->() == nullptr);  // the victim's connection was closed
    Reply none(redisCommand(f.client, "CLIENT KILL ID %lld", victim));
    CHECK(none->integer == 0);
    Reply old(redisCommand(f.client, "CLIENT KILL 10.0.0.1:1"));
    CHECK(old.str() == "ERR No such client");
    // SKIPME yes (the default) spares the caller: USER default kills the others.
    Reply others(redisCommand(f.client, "CLIENT KILL USER default"));
    CHECK(others->integer == static_cast<long long>(conns.size() - 1));
    Reply still(redisCommand(f.client, "PING"));
    CHECK(still.str() == "PONG");
    for (int i = 0; i < 50; ++i) {
      Reply l(redisCommand(f.client, "CLIENT LIST"));
      std::string t = l.str();
      if (std::count(t.begin(), t.end(), '\n') == 1) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Reply final_list(redisCommand(f.client, "CLIENT LIST"));
    std::string t = final_list.str();
    CHECK(std::count(t.begin(), t.end(), '\n') == 1);
    for (redisContext* c : conns) {
      redisFree(c);
    }
  }
}
