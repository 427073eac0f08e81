// MigrationTracker tests: write generations, lost replies kept pending until
// their connection is confirmed killed, blocked-call registration refused once
// switching, reads at the destination and their sample; and the timeout
// rewriting of re-issued blocking calls.
#include "proxy/migration_tracker.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "proxy/block_timeout.h"

namespace proxy {

TEST_SUITE("MigrationTracker") {
  TEST_CASE("an answered write makes its keys dirty; a copy with nothing pending settles them") {
    MigrationTracker t(0, 100, 1);
    CHECK(t.source() == 1);
    auto before = t.mark("k");
    REQUIRE(t.write_sent({"k"}));
    CHECK(t.pending() == 1);
    CHECK_FALSE(t.settle("k", before));  // the generation moved and a write is pending
    t.write_done({"k"});
    CHECK(t.pending() == 0);
    CHECK(t.is_dirty("k"));
    auto m = t.mark("k");
    CHECK(t.settle("k", m));
    CHECK_FALSE(t.is_dirty("k"));
  }

  TEST_CASE("a lost reply keeps the keys pending until its connection is confirmed gone") {
    MigrationTracker t(0, 100, 0);
    REQUIRE(t.write_sent({"a", "b"}));
    REQUIRE(t.write_sent({"c"}));
    t.write_lost({"a", "b"}, 42);
    t.write_done({"c"});
    CHECK(t.lost_writes() == 1);
    CHECK(t.pending() == 1);  // the lost write may still run on the source
    CHECK(t.lost_connections() == std::vector<uint64_t>{42});
    auto m = t.mark("a");
    CHECK(m.pending == 1);
    CHECK_FALSE(t.settle("a", m));  // no copy can call it clean yet
    CHECK(t.is_dirty("a"));
    CHECK(t.loss_confirmed(7) == 0);  // another connection: nothing changes
    CHECK(t.pending() == 1);
    CHECK(t.loss_confirmed(42) == 1);
    CHECK(t.pending() == 0);
    CHECK(t.lost_connections().empty());
    auto dirty = t.dirty_keys();
    std::sort(dirty.begin(), dirty.end());
    CHECK(dirty == std::vector<std::string>{"a", "b", "c"});
    // A copy started before the kill was confirmed does not count.
    CHECK_FALSE(t.settle("a", m));
    auto after = t.mark("a");
    CHECK(after.pending == 0);
    CHECK(t.settle("a", after));
  }

  TEST_CASE("lost replies on an unknown connection are reported with id 0") {
    MigrationTracker t(0, 100);
    REQUIRE(t.write_sent({"x"}));
    REQUIRE(t.write_sent({"y"}));
    t.write_lost({"x"}, 0);
    t.write_lost({"y"}, 9);
    auto ids = t.lost_connections();
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<uint64_t>{0, 9});
    CHECK(t.pending() == 2);
  }

  TEST_CASE("blocked calls register until the switch, then are refused") {
    MigrationTracker t(0, 100);
    auto cell = std::make_shared<std::atomic<uint64_t>>(5);
    auto a = std::make_shared<BlockedCall>();
    a->client_id = cell;
    CHECK(t.add_blocked(a));
    CHECK(t.blocked_count() == 1);
    CHECK(t.blocked().front()->client_id->load() == 5);
    t.set_switching(true);
    auto b = std::make_shared<BlockedCall>();
    CHECK_FALSE(t.add_blocked(b));  // held by its session instead
    CHECK_FALSE(t.write_sent({"k"}));
    t.remove_blocked(a.get());
    CHECK(t.blocked_count() == 0);
  }

  TEST_CASE("reads at the destination: only clean keys, only while dst_reads and not switching") {
    MigrationTracker t(0, 100, 0);
    CHECK_FALSE(t.readable_at_destination("k"));  // off by default (bulk copy running)
    t.set_dst_reads(true);
    CHECK(t.dst_reads());
    CHECK(t.readable_at_destination("k"));  // no entry: copied and never written
    REQUIRE(t.write_sent({"k"}));
    CHECK_FALSE(t.readable_at_destination("k"));  // pending: read-your-writes at the source
    CHECK(t.readable_at_destination("other"));
    t.write_done({"k"});
    CHECK_FALSE(t.readable_at_destination("k"));  // dirty until copied again
    auto m = t.mark("k");
    REQUIRE(t.settle("k", m));
    CHECK(t.readable_at_destination("k"));
    // A lost reply keeps its key away from dst even after it turns dirty.
    REQUIRE(t.write_sent({"k"}));
    t.write_lost({"k"}, 3);
    CHECK_FALSE(t.readable_at_destination("k"));
    CHECK(t.loss_confirmed(3) == 1);
    CHECK_FALSE(t.readable_at_destination("k"));
    // A copy that raced a write does not make the key readable.
    auto stale = t.mark("k");
    REQUIRE(t.write_sent({"k"}));
    t.write_done({"k"});
    CHECK_FALSE(t.settle("k", stale));
    CHECK_FALSE(t.readable_at_destination("k"));
    t.set_switching(true);
    CHECK_FALSE(t.readable_at_destination("other"));
    t.set_switching(false);
    CHECK(t.readable_at_destination("other"));
    t.set_dst_reads(false);  // an abort turns it off first
    CHECK_FALSE(t.readable_at_destination("other"));
  }

  TEST_CASE("destination reads are counted and every 64th key is kept, at most 1000") {
    MigrationTracker t(0, 100, 0);
    for (int i = 0; i < 128; ++i) {
      t.served_at_destination("key" + std::to_string(i));
    }
    CHECK(t.destination_reads() == 128);
    CHECK(t.take_served_sample() == std::vector<std::string>{"key0", "key64"});
    CHECK(t.take_served_sample().empty());
    for (uint64_t i = 0; i < 64 * 1200; ++i) {
      t.served_at_destination("x");
    }
    CHECK(t.take_served_sample().size() == MigrationTracker::kMaxServedSample);
  }
}

TEST_SUITE("rewrite_block_timeout") {
  using Args = std::vector<std::string>;
  TEST_CASE("seconds as the last argument: the time left, 0 stays 0") {
    bool expired = true;
    Args a = {"BLPOP", "k1", "k2", "5"};
    REQUIRE(rewrite_block_timeout(a, 1500, &expired));
    CHECK_FALSE(expired);
    CHECK(a == Args{"BLPOP", "k1", "k2", "3.500"});
    Args f = {"blmove", "s", "d", "LEFT", "RIGHT", "0"};
    REQUIRE(rewrite_block_timeout(f, 99999, &expired));
    CHECK_FALSE(expired);
    CHECK(f.back() == "0");
    Args z = {"BZPOPMIN", "z", "0.25"};
    REQUIRE(rewrite_block_timeout(z, 300, &expired));
    CHECK(expired);
  }

  TEST_CASE("BLMPOP and BZMPOP carry the timeout first") {
    bool expired = false;
    Args a = {"BLMPOP", "2", "1", "k", "LEFT"};
    REQUIRE(rewrite_block_timeout(a, 500, &expired));
    CHECK(a[1] == "1.500");
    CHECK(a[2] == "1");
  }

  TEST_CASE("XREAD and XREADGROUP: BLOCK in milliseconds; names after STREAMS are not options") {
    bool expired = false;
    Args a = {"XREAD", "COUNT", "2", "block", "1000", "STREAMS", "s", "$"};
    REQUIRE(rewrite_block_timeout(a, 250, &expired));
    CHECK(a[4] == "750");
    Args g = {"XREADGROUP", "GROUP", "block", "block", "STREAMS", "block", ">"};
    Args same = g;
    REQUIRE(rewrite_block_timeout(g, 250, &expired));  // does not block
    CHECK(g == same);
    Args z = {"XREAD", "BLOCK", "0", "STREAMS", "s", "$"};
    REQUIRE(rewrite_block_timeout(z, 250, &expired));
    CHECK(z[2] == "0");
  }

  TEST_CASE("unknown commands and malformed timeouts are not re-issued") {
    bool expired = false;
    Args w = {"WAIT", "1", "100"};
    CHECK_FALSE(rewrite_block_timeout(w, 0, &expired));
    Args bad = {"BLPOP", "k", "soon"};
    CHECK_FALSE(rewrite_block_timeout(bad, 0, &expired));
    Args neg = {"BLPOP", "k", "-1"};
    CHECK_FALSE(rewrite_block_timeout(neg, 0, &expired));
  }
}

}  // namespace proxy
