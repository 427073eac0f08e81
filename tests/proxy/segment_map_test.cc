// SegmentMap tests: initial apportionment by capacity, the slot index, the
// builders (epoch + 1, original untouched), diff(), the text form, and one
// TEST_CASE per invalid map text (CONVENTIONS §15).
#include "proxy/segment_map.h"

#include <doctest/doctest.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace proxy {
namespace {

const std::vector<std::string> kNames = {"redis-1", "redis-2", "redis-3"};

std::vector<BackendWeight> weights(std::vector<double> caps) {
  std::vector<BackendWeight> out;
  for (size_t i = 0; i < caps.size(); ++i) {
    out.push_back({"redis-" + std::to_string(i + 1), caps[i]});
  }
  return out;
}

SegmentMap make(uint32_t slots, uint32_t seg, std::vector<double> caps) {
  Result<SegmentMap> r = SegmentMap::initial(slots, seg, weights(caps));
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return std::move(r).value();
}

std::vector<size_t> counts(const SegmentMap& m) {
  std::vector<size_t> out(m.backend_names().size());
  for (uint32_t i = 0; i < m.size(); ++i) {
    ++out[m.segment(i).owner];
  }
  return out;
}

// Checks coverage and the slot index against the segment list.
void check_consistent(const SegmentMap& m) {
  uint32_t next = 0;
  for (uint32_t i = 0; i < m.size(); ++i) {
    REQUIRE(m.segment(i).first == next);
    for (uint32_t s = m.segment(i).first; s <= m.segment(i).last; ++s) {
      REQUIRE(m.segment_of_slot(s) == i);
    }
    next = m.segment(i).last + 1;
  }
  REQUIRE(next == m.slots());
}

// "first-last:owner" per segment, with ">dst" while Migrating and "=>dst"
// while Switching: a whole small map in one comparable string.
std::string layout(const SegmentMap& m) {
  std::string out;
  for (const Segment& s : m.segments()) {
    const char* arrow = std::array{"", ">", "=>"}[static_cast<int>(s.state)];
    out += (out.empty() ? "" : " ") + std::to_string(s.first) + "-" + std::to_string(s.last) + ":" +
           std::to_string(s.owner) + (*arrow ? arrow + std::to_string(s.dst) : std::string());
  }
  return out;
}

// A map body with a correct checksum line appended, for the invalid-input
// tests: each must fail on its own defect, not on the checksum.
std::string with_checksum(const std::string& body) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH64(body.data(), body.size(), 0)));
  return body + "checksum " + buf + "\n";
}

const char* kHead = "foreshard-segment-map 1\nepoch 7\nslots 8\nbackends redis-1 redis-2\n";

Status parse_error(const std::string& text, std::vector<std::string> names = kNames) {
  Result<SegmentMap> r = SegmentMap::parse(text, names);
  REQUIRE_MESSAGE(!r.is_ok(), "expected an error for:\n" << text);
  return r.status();
}

// The Corrupt message for a map text with a valid checksum: `head` lines, then
// `segments` lines.
std::string body_error(const std::string& segments, const std::string& head = kHead) {
  Status st = parse_error(with_checksum(head + segments));
  CHECK(st.code() == Code::Corrupt);
  return st.message();
}

const std::string kSecond = "segment 4 7 redis-2 stable\n";  // a valid last line after kHead

}  // namespace

TEST_SUITE("SegmentMap") {
  TEST_CASE("initial splits 1:1:2 capacities over 256 segments as 64/64/128") {
    SegmentMap m = make(16384, 64, {1, 1, 2});
    CHECK(m.epoch() == 1);
    CHECK(m.slots() == 16384);
    CHECK(m.size() == 256);
    CHECK(counts(m) == std::vector<size_t>{64, 64, 128});
    std::vector<uint16_t> owners;  // contiguous blocks in backend order
    for (const Segment& s : m.segments()) {
      owners.push_back(s.owner);
      CHECK(s.state == SegmentState::Stable);
    }
    CHECK(std::is_sorted(owners.begin(), owners.end()));
    check_consistent(m);
  }

  TEST_CASE("initial uses largest remainders for equal capacities") {
    CHECK(counts(make(16384, 64, {5, 5, 5})) == std::vector<size_t>{86, 85, 85});
  }

  TEST_CASE("initial makes the last segment shorter when segmentSize does not divide slots") {
    CHECK(layout(make(100, 30, {1})) == "0-29:0 30-59:0 60-89:0 90-99:0");
  }

  TEST_CASE("initial gives a tiny backend at least one segment") {
    CHECK(counts(make(1024, 64, {1000, 1})) == std::vector<size_t>{15, 1});
  }

  TEST_CASE("initial gives a zero-capacity backend nothing") {
    CHECK(counts(make(1024, 64, {1, 0, 1})) == std::vector<size_t>{8, 0, 8});
  }

  TEST_CASE("initial with more backends than segments still covers every slot") {
    CHECK(layout(make(2, 1, {1, 1, 1})) == "0-0:0 1-1:1");
  }

  TEST_CASE("initial refuses bad shapes and capacities") {
    CHECK(SegmentMap::initial(0, 1, weights({1})).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(65537, 1, weights({1})).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 17, weights({1})).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 0, weights({1})).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 4, {}).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 4, weights({0, 0})).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 4, weights({1, -1})).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 4, {{"bad name", 1}}).status().code() == Code::InvalidArgument);
    CHECK(SegmentMap::initial(16, 4, {{"a", 1}, {"a", 1}}).status().code() ==
          Code::InvalidArgument);
  }

  TEST_CASE("65536 slots of one slot each") {
    SegmentMap m = make(65536, 1, {1, 1});
    CHECK(m.segment_of_slot(65535) == 65535);
    CHECK(counts(m) == std::vector<size_t>{32768, 32768});
  }

  TEST_CASE("single_owner gives every segment to one backend") {
    Result<SegmentMap> r = SegmentMap::single_owner(16384, 64, weights({1, 1, 1}), 1);
    REQUIRE(r.is_ok());
    CHECK(r.value().epoch() == 1);
    CHECK(counts(r.value()) == std::vector<size_t>{0, 256, 0});
    CHECK(r.value().segments_owned_by(1).size() == 256);
    CHECK(r.value().segments_owned_by(0).empty());
    CHECK_FALSE(SegmentMap::single_owner(16384, 64, weights({1, 1}), 2).is_ok());
  }

  TEST_CASE("slot_of and segment_of_slot route {user1}.a and {user1}.b to the same segment") {
    SegmentMap m = make(16384, 64, {1, 1, 1});
    CHECK(m.slot_of("foo") == 12182);
    CHECK(m.segment_of_slot(m.slot_of("{user1}.a")) == m.segment_of_slot(m.slot_of("{user1}.b")));
    CHECK(m.segment_of_slot(12182) == 12182 / 64);
  }

  TEST_CASE("serialize writes the documented text form") {
    SegmentMap m = make(8, 4, {1, 1}).with_state(1, SegmentState::Migrating, 0).value();
    std::string body =
        "foreshard-segment-map 1\nepoch 2\nslots 8\nbackends redis-1 redis-2\n"
        "segment 0 3 redis-1 stable\nsegment 4 7 redis-2 migrating redis-1\n";
    CHECK(m.serialize() == with_checksum(body));
  }

  TEST_CASE("parse(serialize()) round-trips every field") {
    SegmentMap m = make(16384, 64, {1, 2, 3});
    m = m.split(10, 650).value();
    m = m.with_state(3, SegmentState::Migrating, 2).value();
    m = m.with_state(3, SegmentState::Switching, 2).value();
    m = m.with_state(200, SegmentState::Migrating, 0).value();
    Result<SegmentMap> back = SegmentMap::parse(m.serialize(), kNames);
    REQUIRE_MESSAGE(back.is_ok(), back.status().message());
    CHECK(back.value().epoch() == m.epoch());
    CHECK(layout(back.value()) == layout(m));
    CHECK(back.value().serialize() == m.serialize());
    check_consistent(back.value());
  }

  TEST_CASE("parse remaps owners by name when the config reorders backends") {
    SegmentMap m = make(8, 2, {1, 1, 2}).with_state(0, SegmentState::Migrating, 2).value();
    CHECK(layout(m) == "0-1:0>2 2-3:1 4-5:2 6-7:2");
    Result<SegmentMap> r = SegmentMap::parse(m.serialize(), {"redis-3", "redis-1", "redis-2"});
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(layout(r.value()) == "0-1:1>0 2-3:2 4-5:0 6-7:0");
    CHECK(r.value().diff(m).empty());  // same owners by name
  }

  TEST_CASE("parse lets new config backends in with no segments") {
    SegmentMap m = make(8, 2, {1, 1});
    Result<SegmentMap> r = SegmentMap::parse(m.serialize(), {"redis-new", "redis-1", "redis-2"});
    REQUIRE(r.is_ok());
    CHECK(layout(r.value()) == "0-1:1 2-3:1 4-5:2 6-7:2");
  }

  TEST_CASE("parse drops a backend that owns nothing any more") {
    SegmentMap m = make(8, 2, {1, 1, 0});
    Result<SegmentMap> r = SegmentMap::parse(m.serialize(), {"redis-1", "redis-2"});
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(r.value().backend_names() == std::vector<std::string>{"redis-1", "redis-2"});
  }

  // ---- one test per invalid input ----

  TEST_CASE("parse refuses a backend that still owns segments but left the config") {
    SegmentMap m = make(8, 2, {1, 1, 2});
    Status st = parse_error(m.serialize(), {"redis-1", "redis-2"});
    CHECK(st.code() == Code::InvalidArgument);
    CHECK(st.message() ==
          "segment map names backend 'redis-3' that the config no longer has (it owns 2 "
          "segments); add it back or DRAIN it first");
  }

  TEST_CASE("parse refuses a backend that left the config while segments migrate to it") {
    SegmentMap m = make(8, 2, {1, 1, 0});
    m = m.with_state(0, SegmentState::Migrating, 2).value();
    Status st = parse_error(m.serialize(), {"redis-1", "redis-2"});
    CHECK(st.message().find("it is the destination of 1 migrating segments") != std::string::npos);
  }

  TEST_CASE("parse refuses a gap between segments") {
    CHECK(body_error("segment 0 2 redis-1 stable\n" + kSecond) ==
          "segment map line 6: gap: slots 3..3 are in no segment");
  }

  TEST_CASE("parse refuses overlapping segments") {
    CHECK(body_error("segment 0 4 redis-1 stable\n" + kSecond) ==
          "segment map line 6: overlap: segment starts at slot 4 but the previous one ends at 4");
  }

  TEST_CASE("parse refuses segments that stop before the last slot") {
    CHECK(body_error("segment 0 5 redis-1 stable\n") ==
          "segment map line 6: gap: slots 6..7 are in no segment");
  }

  TEST_CASE("parse refuses a segment past the last slot") {
    CHECK(body_error("segment 0 8 redis-1 stable\n") ==
          "segment map line 5: segment range 0..8 is not inside slots 0..7");
  }

  TEST_CASE("parse refuses a bad checksum") {
    std::string text = make(8, 4, {1, 1}).serialize();
    text[text.find("redis-2 stable")] = 'x';  // flip one byte of content
    Status st = parse_error(text);
    CHECK(st.code() == Code::Corrupt);
    CHECK(st.message().rfind("segment map line 7: checksum mismatch (file says ", 0) == 0);
  }

  TEST_CASE("parse refuses a segment owned by a backend not on the backends line") {
    CHECK(body_error("segment 0 3 redis-1 stable\nsegment 4 7 redis-9 stable\n") ==
          "segment map line 6: segment names a backend that is not on the backends line");
  }

  TEST_CASE("parse refuses an unknown state word") {
    CHECK(body_error("segment 0 3 redis-1 moving redis-2\n" + kSecond) ==
          "segment map line 5: unknown segment state 'moving' (expected stable, migrating or "
          "switching)");
  }

  TEST_CASE("parse refuses a migrating segment without a destination") {
    CHECK(body_error("segment 0 3 redis-1 migrating\n" + kSecond) ==
          "segment map line 5: a migrating segment takes one destination backend");
  }

  TEST_CASE("parse refuses a stable segment with a destination") {
    CHECK(body_error("segment 0 3 redis-1 stable redis-2\n" + kSecond) ==
          "segment map line 5: a stable segment takes no destination");
  }

  TEST_CASE("parse refuses a segment migrating to its own owner") {
    CHECK(body_error("segment 0 3 redis-1 migrating redis-1\n" + kSecond) ==
          "segment map line 5: a segment cannot migrate to its own owner");
  }

  TEST_CASE("parse refuses a non-numeric slot range") {
    CHECK(body_error("segment 0 x redis-1 stable\n") ==
          "segment map line 5: bad segment line 'segment 0 x redis-1 stable'");
  }

  TEST_CASE("parse refuses a truncated file") {
    std::string text = make(16384, 64, {1, 1}).serialize();
    CHECK(parse_error(text.substr(0, text.size() / 2))
              .message()
              .find("truncated: the map does not end with its checksum line") != std::string::npos);
  }

  TEST_CASE("parse refuses an empty file") { CHECK(parse_error("").code() == Code::Corrupt); }

  TEST_CASE("parse refuses an unknown format version") {
    CHECK(body_error("", "foreshard-segment-map 2\nepoch 1\nslots 8\nbackends redis-1\n") ==
          "segment map line 1: expected 'foreshard-segment-map 1', got 'foreshard-segment-map 2'");
  }

  TEST_CASE("parse refuses epoch 0") {
    CHECK(body_error("", "foreshard-segment-map 1\nepoch 0\nslots 8\nbackends redis-1\n") ==
          "segment map line 2: bad epoch line 'epoch 0'");
  }

  TEST_CASE("parse refuses a header line out of order") {
    CHECK(body_error("", "foreshard-segment-map 1\nslots 8\nepoch 1\nbackends redis-1\n") ==
          "segment map line 2: expected the epoch line, got 'slots 8'");
  }

  TEST_CASE("parse refuses a backend listed twice") {
    CHECK(body_error("", "foreshard-segment-map 1\nepoch 1\nslots 8\nbackends a a\n") ==
          "segment map line 4: bad or repeated backend name 'a'");
  }

  TEST_CASE("parse refuses a map without its backends line") {
    CHECK(body_error("", "foreshard-segment-map 1\nepoch 1\nslots 8\n") ==
          "segment map line 4: expected the backends line, got ''");
  }

  TEST_CASE("parse refuses lines after the checksum") {
    std::string text = make(8, 4, {1, 1}).serialize() + "segment 0 7 redis-1 stable\n";
    CHECK(parse_error(text).code() == Code::Corrupt);
  }

  TEST_CASE("parse refuses duplicate names in the config list") {
    Status st = parse_error(make(8, 4, {1, 1}).serialize(), {"redis-1", "redis-2", "redis-1"});
    CHECK(st.code() == Code::InvalidArgument);
  }

  TEST_CASE("parse fails cleanly on every truncation of a valid map") {
    SegmentMap m = make(64, 8, {1, 1, 1}).with_state(2, SegmentState::Migrating, 2).value();
    std::string text = m.serialize();
    for (size_t len = 0; len + 1 < text.size(); ++len) {
      CAPTURE(len);
      Result<SegmentMap> r = SegmentMap::parse(text.substr(0, len), kNames);
      CHECK_FALSE(r.is_ok());
      CHECK(r.status().code() == Code::Corrupt);
    }
    CHECK(SegmentMap::parse(text.substr(0, text.size() - 1), kNames).is_ok());  // no final '\n'
  }

  // ---- builders (maps of 64 slots in segments of 16: "0-15:0 16-31:0 32-47:1 48-63:1") ----

  TEST_CASE("with_owner bumps the epoch, resets the state and leaves the original alone") {
    SegmentMap m = make(64, 16, {1, 1});
    SegmentMap mig = m.with_state(1, SegmentState::Migrating, 1).value();
    SegmentMap moved = mig.with_owner(1, 1).value();
    CHECK(layout(mig) == "0-15:0 16-31:0>1 32-47:1 48-63:1");
    CHECK(layout(moved) == "0-15:0 16-31:1 32-47:1 48-63:1");
    CHECK(mig.epoch() == 2);
    CHECK(moved.epoch() == 3);
    CHECK(moved.segment(1).dst == 0);
    CHECK_FALSE(m.with_owner(4, 0).is_ok());  // no such segment
    CHECK_FALSE(m.with_owner(0, 2).is_ok());  // no such backend
  }

  TEST_CASE("with_state allows Stable -> Migrating -> Switching -> Stable and aborts") {
    SegmentMap m = make(64, 16, {1, 1, 1});
    SegmentMap a = m.with_state(0, SegmentState::Migrating, 2).value();
    SegmentMap b = a.with_state(0, SegmentState::Switching, 2).value();
    SegmentMap aborted = b.with_state(0, SegmentState::Stable, 7).value();  // dst ignored
    CHECK(layout(a).rfind("0-15:0>2 ", 0) == 0);
    CHECK(layout(b).rfind("0-15:0=>2 ", 0) == 0);
    CHECK(layout(aborted) == layout(m));
    CHECK(aborted.segment(0).dst == 0);
    CHECK(aborted.epoch() == 4);
    CHECK(a.with_state(0, SegmentState::Stable, 0).is_ok());  // abort from Migrating
  }

  TEST_CASE("with_state refuses edges out of order and bad destinations") {
    SegmentMap m = make(64, 16, {1, 1, 1});
    CHECK_FALSE(m.with_state(0, SegmentState::Switching, 1).is_ok());  // skips Migrating
    CHECK_FALSE(m.with_state(0, SegmentState::Migrating, 0).is_ok());  // to its own owner
    CHECK_FALSE(m.with_state(0, SegmentState::Migrating, 3).is_ok());  // no such backend
    CHECK_FALSE(m.with_state(9, SegmentState::Migrating, 1).is_ok());  // no such segment
    SegmentMap a = m.with_state(0, SegmentState::Migrating, 1).value();
    CHECK_FALSE(a.with_state(0, SegmentState::Migrating, 2).is_ok());  // already migrating
    CHECK_FALSE(a.with_state(0, SegmentState::Switching, 2).is_ok());  // another destination
  }

  TEST_CASE("split makes two segments and shifts later indices by one") {
    SegmentMap m = make(64, 16, {1, 1});
    SegmentMap s = m.split(1, 20).value();
    CHECK(layout(s) == "0-15:0 16-19:0 20-31:0 32-47:1 48-63:1");
    CHECK(s.epoch() == 2);
    CHECK(s.segment_of_slot(40) == 3);  // was segment 2
    check_consistent(s);
    CHECK(layout(m) == "0-15:0 16-31:0 32-47:1 48-63:1");
    CHECK(layout(s.split(2, 31).value()) == "0-15:0 16-19:0 20-30:0 31-31:0 32-47:1 48-63:1");
  }

  TEST_CASE("split refuses a point outside (first, last] and a moving segment") {
    SegmentMap m = make(64, 16, {1, 1});
    CHECK_FALSE(m.split(1, 16).is_ok());
    CHECK_FALSE(m.split(1, 32).is_ok());
    CHECK_FALSE(m.split(4, 60).is_ok());
    CHECK_FALSE(m.with_state(1, SegmentState::Migrating, 1).value().split(1, 20).is_ok());
  }

  TEST_CASE("merge joins two neighbours with the same owner") {
    SegmentMap m = make(64, 16, {1, 1});
    SegmentMap merged = m.merge(0).value();
    CHECK(layout(merged) == "0-31:0 32-47:1 48-63:1");
    CHECK(merged.epoch() == 2);
    CHECK(merged.segment_of_slot(50) == 2);
    check_consistent(merged);
    SegmentMap again = m.split(2, 40).value().merge(2).value();  // split + merge = same layout
    CHECK(layout(again) == layout(m));
    CHECK(again.epoch() == 3);
  }

  TEST_CASE("merge refuses different owners, a moving segment and the last index") {
    SegmentMap m = make(64, 16, {1, 1});
    CHECK_FALSE(m.merge(1).is_ok());  // redis-1's last and redis-2's first
    CHECK_FALSE(m.merge(3).is_ok());
    SegmentMap a = m.with_state(1, SegmentState::Migrating, 1).value();
    CHECK_FALSE(a.merge(0).is_ok());
    CHECK_FALSE(a.merge(1).is_ok());
  }

  TEST_CASE("with_backends appends and keeps existing indices") {
    SegmentMap m = make(64, 16, {1, 1});
    SegmentMap r = m.with_backends({"redis-1", "redis-2", "redis-4"}).value();
    CHECK(r.backend_names().size() == 3);
    CHECK(r.epoch() == 2);
    CHECK(layout(r) == layout(m));
    CHECK(r.diff(m).empty());
    CHECK_FALSE(m.with_backends({"redis-2", "redis-1"}).is_ok());
    CHECK_FALSE(m.with_backends({"redis-1"}).is_ok());
    CHECK_FALSE(m.with_backends({"redis-1", "redis-2", "bad name"}).is_ok());
    CHECK_FALSE(m.with_backends({"redis-1", "redis-2", "redis-1"}).is_ok());
  }

  TEST_CASE("diff lists exactly the changed segments") {
    SegmentMap m = make(1024, 64, {1, 1, 1});
    using V = std::vector<uint32_t>;
    CHECK(m.diff(m).empty());
    CHECK(m.with_owner(4, 2).value().diff(m) == V{4});
    CHECK(m.with_state(9, SegmentState::Migrating, 0).value().diff(m) == V{9});
    CHECK(m.split(3, 200).value().diff(m) == V{3, 4});
    CHECK(m.merge(0).value().diff(m) == V{0});
    SegmentMap other_slots = make(2048, 128, {1, 1, 1});
    CHECK(other_slots.diff(m).size() == other_slots.size());
  }

  TEST_CASE("a long random walk of builders keeps the slot index and the text form exact") {
    SegmentMap m = make(1024, 32, {1, 1, 1});
    uint64_t rng = 42;
    auto next = [&rng](uint32_t bound) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<uint32_t>((rng >> 33) % bound);
    };
    for (int step = 0; step < 2000; ++step) {
      uint32_t i = next(static_cast<uint32_t>(m.size()));
      const Segment& s = m.segment(i);
      Result<SegmentMap> r = m;
      uint32_t op = next(5);
      uint16_t b = static_cast<uint16_t>(next(3));
      if (op == 0) {
        r = m.split(i, s.first + 1 + next(s.last - s.first + 1));
      } else if (op == 1) {
        r = m.merge(i);
      } else if (op == 2) {
        r = m.with_owner(i, b);
      } else {
        r = m.with_state(i, op == 3 ? SegmentState::Migrating : SegmentState::Switching,
                         op == 3 ? b : s.dst);
      }
      if (r.is_ok()) {
        CHECK(r.value().epoch() == m.epoch() + 1);
        m = std::move(r).value();
      }
      if (step % 100 == 0) {
        check_consistent(m);
        Result<SegmentMap> back = SegmentMap::parse(m.serialize(), kNames);
        REQUIRE(back.is_ok());
        CHECK(back.value().diff(m).empty());
      }
    }
    check_consistent(m);
    CHECK(m.epoch() > 500);  // most steps did change the map
    CHECK(m.size() > 32);    // splits outnumbered merges at least once
  }

  TEST_CASE("segments_owned_by lists indices in slot order") {
    SegmentMap m = make(512, 64, {1, 1});
    CHECK(m.segments_owned_by(0) == std::vector<uint32_t>{0, 1, 2, 3});
    CHECK(m.segments_owned_by(1) == std::vector<uint32_t>{4, 5, 6, 7});
    CHECK(m.segments_owned_by(7).empty());
  }
}

}  // namespace proxy
