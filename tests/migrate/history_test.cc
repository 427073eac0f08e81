// History tests: deltas into steps and step boundaries, gaps and restarts,
// segment sums, ring wrap, sources, the memory budget at 16,384 slots, and
// the file: round trip, incompatible, corrupt and truncated files.
#include "migrate/history.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace migrate {
namespace {

const std::vector<std::string> kNames = {"redis-1", "redis-2"};

History::Options opts(uint32_t step = 60, uint64_t budget = 64ull << 20, uint32_t bpoints = 100) {
  History::Options o;
  o.step_s = step;
  o.memory_budget_bytes = budget;
  o.backend_points = bpoints;
  return o;
}

// A snapshot of zeros for `slots` slots and kNames, which tests then bump.
struct Counters {
  TelemetrySnapshot s;
  explicit Counters(uint32_t slots) {
    for (auto* v :
         {&s.slot_reads, &s.slot_writes, &s.slot_other, &s.slot_bytes_in, &s.slot_bytes_out}) {
      v->assign(slots, 0);
    }
    for (auto* v : {&s.backend_reads, &s.backend_writes, &s.backend_other, &s.backend_bytes_in,
                    &s.backend_bytes_out}) {
      v->assign(kNames.size(), 0);
    }
  }
  // n ops of each kind on `slot`, counted on backend 0.
  void ops(uint32_t slot, uint64_t reads, uint64_t writes = 0, uint64_t other = 0) {
    s.slot_reads[slot] += reads;
    s.slot_writes[slot] += writes;
    s.slot_other[slot] += other;
    s.backend_reads[0] += reads;
    s.backend_writes[0] += writes;
    s.backend_other[0] += other;
  }
  const TelemetrySnapshot& at(uint64_t t) {
    s.unix_s = t;
    return s;
  }
};

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/foreshard-history-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    CHECK(std::system(cmd.c_str()) == 0);
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// `steps` whole steps of 60 s, slot s getting (s + 1) * (step index + 1) ops per step.
void fill(History& h, Counters& c, uint64_t t0, int steps) {
  h.ingest(c.at(t0));
  for (int k = 0; k < steps; ++k) {
    for (uint32_t s = 0; s < c.s.slot_reads.size(); ++s) {
      c.ops(s, (s + 1) * static_cast<uint64_t>(k + 1));
    }
    h.ingest(c.at(t0 + 60 * (k + 1)));
  }
}

}  // namespace

TEST_SUITE("History") {
  TEST_CASE("deltas add into the open step, which closes on its boundary") {
    History h(opts(), 8, kNames);
    Counters c(8);
    CHECK(h.ingest(c.at(1000)) == IngestResult::Baseline);
    CHECK(h.open_step_start() == 960);
    for (uint64_t t = 1001; t < 1020; ++t) {
      c.ops(3, 1, 2, 0);
      CHECK(h.ingest(c.at(t)) == IngestResult::Counted);
    }
    CHECK(h.points() == 0);
    c.ops(3, 1, 2, 0);
    h.ingest(c.at(1020));
    REQUIRE(h.points() == 1);
    CHECK(h.open_step_start() == 1020);
    Series s = h.recent_segment(3, 3, 10);
    CHECK(s.start_unix_s == 960);
    CHECK(s.step_s == 60);
    REQUIRE(s.values.size() == 1);
    CHECK(s.values[0] == doctest::Approx(60.0 / 60));  // 20 reads + 40 writes in the step
    CHECK(h.recent_segment(2, 2, 10).values[0] == 0);
    CHECK(h.forecast_input_backend(0).values[0] == doctest::Approx(1.0));
    CHECK(h.forecast_input_backend(0, BackendMetric::Writes).values[0] ==
          doctest::Approx(40.0 / 60));
    CHECK(h.forecast_input_backend(1).values[0] == 0);
  }

  TEST_CASE("an interval across a boundary is split by time") {
    History h(opts(), 4, kNames);
    Counters c(4);
    h.ingest(c.at(1010));
    c.ops(1, 20);
    h.ingest(c.at(1030));  // [1010, 1030): 10 s in [960, 1020), 10 s in [1020, 1080)
    h.ingest(c.at(1080));
    Series s = h.forecast_input_segment(1, 1);
    REQUIRE(s.values.size() == 2);
    CHECK(s.values[0] * 60 == doctest::Approx(10));
    CHECK(s.values[1] * 60 == doctest::Approx(10));
  }

  TEST_CASE("a stalled loop spreads its delta; steps across a restart are missing, not zero") {
    History h(opts(), 4, kNames);
    Counters c(4);
    SUBCASE("stall") {
      h.ingest(c.at(960));
      c.ops(0, 600);
      CHECK(h.ingest(c.at(960 + 600)) == IngestResult::Counted);
      Series s = h.forecast_input_segment(0, 0);
      REQUIRE(s.values.size() == 10);
      for (double v : s.values) {
        CHECK(v == doctest::Approx(1.0));
      }
    }
    SUBCASE("restart") {
      h.ingest(c.at(960));
      c.ops(0, 60);
      h.ingest(c.at(1020));
      Counters fresh(4);  // the proxy restarted: its counters begin again at 0
      fresh.ops(0, 5);
      CHECK(h.ingest(fresh.at(1020 + 300)) == IngestResult::Reset);
      // The forecaster must not learn the downtime as a dip of load: the
      // forecast inputs say "missing"; the recent-load queries say 0 ops.
      for (const Series& s : {h.forecast_input_segment(0, 0), h.forecast_input_all(),
                              h.forecast_input_ranges({{0, 1}})}) {
        REQUIRE(s.values.size() == 6);
        CHECK(s.values[0] == doctest::Approx(1.0));
        for (size_t i = 1; i < 6; ++i) {
          CHECK(std::isnan(s.values[i]));
        }
      }
      Series b = h.forecast_input_backend(0);
      REQUIRE(b.values.size() == 6);
      CHECK(std::isnan(b.values[5]));
      Series r = h.recent_segment(0, 0, 6);
      CHECK(r.values[0] == doctest::Approx(1.0));
      for (size_t i = 1; i < 6; ++i) {
        CHECK(r.values[i] == 0);
      }
      fresh.ops(0, 3);
      CHECK(h.ingest(fresh.at(1020 + 301)) == IngestResult::Counted);
      h.ingest(fresh.at(1020 + 360));
      CHECK(h.recent_segment(0, 0, 1).values[0] * 60 == doctest::Approx(3));
      // The step counted after the restart is a number again, and the flags
      // survive a save and load.
      Series after = h.forecast_input_segment(0, 0);
      REQUIRE(after.values.size() == 7);
      CHECK(after.values[6] * 60 == doctest::Approx(3));
      TempDir dir;
      REQUIRE(h.save(dir.path + "/h").is_ok());
      Result<History> g = History::load(dir.path + "/h", opts(), 4, kNames);
      REQUIRE_MESSAGE(g.is_ok(), g.status().message());
      Series loaded = g.value().forecast_input_segment(0, 0);
      REQUIRE(loaded.values.size() == 7);
      CHECK(loaded.values[0] == doctest::Approx(1.0));
      CHECK(std::isnan(loaded.values[3]));
      CHECK(loaded.values[6] * 60 == doctest::Approx(3));
    }
  }

  TEST_CASE("a counter that goes backwards is a new baseline, nothing added") {
    History h(opts(), 2, kNames);
    Counters c(2);
    c.ops(0, 100);
    h.ingest(c.at(1000));
    Counters low(2);
    low.ops(0, 5);
    CHECK(h.ingest(low.at(1001)) == IngestResult::Reset);
    low.ops(0, 3);
    CHECK(h.ingest(low.at(1002)) == IngestResult::Counted);
    h.ingest(low.at(1020));
    CHECK(h.forecast_input_segment(0, 0).values.at(0) * 60 == doctest::Approx(3));
  }

  TEST_CASE("a snapshot of the wrong shape is ignored") {
    History h(opts(), 4, kNames);
    Counters c(5);
    CHECK(h.ingest(c.at(1000)) == IngestResult::BadShape);
    Counters d(4);
    d.s.backend_reads.pop_back();
    CHECK(h.ingest(d.at(1000)) == IngestResult::BadShape);
    CHECK(h.open_step_start() == 0);
  }

  TEST_CASE("a segment's series is the sum of its slots' series") {
    History h(opts(), 16, kNames);
    Counters c(16);
    fill(h, c, 960, 5);
    Series seg = h.forecast_input_segment(2, 5);
    REQUIRE(seg.values.size() == 5);
    for (size_t i = 0; i < 5; ++i) {
      double sum = 0;
      for (uint32_t s = 2; s <= 5; ++s) {
        sum += h.forecast_input_segment(s, s).values[i];
      }
      CHECK(seg.values[i] == doctest::Approx(sum));
      CHECK(seg.values[i] * 60 == doctest::Approx((3 + 4 + 5 + 6) * (i + 1)));
    }
    Series two = h.forecast_input_ranges({{2, 3}, {4, 5}});
    CHECK(two.values == seg.values);
    CHECK(two.start_unix_s == seg.start_unix_s);
    Series all = h.forecast_input_all();
    Series every = h.forecast_input_segment(0, 15);
    REQUIRE(all.values.size() == every.values.size());
    CHECK(all.start_unix_s == every.start_unix_s);
    for (size_t i = 0; i < all.values.size(); ++i) {
      CHECK(all.values[i] == doctest::Approx(every.values[i]));
    }
  }

  TEST_CASE("ring wrap keeps the newest points") {
    History h(opts(60, 0, 3), 4, kNames);  // no budget: the 2-point minimum per slot
    REQUIRE(h.slot_capacity() == 2);
    REQUIRE(h.backend_capacity() == 3);
    Counters c(4);
    fill(h, c, 960, 10);
    CHECK(h.points() == 2);
    CHECK(h.backend_points() == 3);
    Series s = h.forecast_input_segment(0, 0);
    CHECK(s.start_unix_s == 960 + 8 * 60);
    REQUIRE(s.values.size() == 2);
    CHECK(s.values[0] * 60 == doctest::Approx(9));
    CHECK(s.values[1] * 60 == doctest::Approx(10));
    Series b = h.forecast_input_backend(0);
    REQUIRE(b.values.size() == 3);
    CHECK(b.values[0] * 60 == doctest::Approx(8 * 10));  // slots 1..4 weights sum to 10
    CHECK(b.values[2] * 60 == doctest::Approx(10 * 10));
  }

  TEST_CASE("a jump far ahead writes at most one ring") {
    History h(opts(60, 0, 50), 4, kNames);
    Counters c(4);
    h.ingest(c.at(960));
    c.ops(1, 6'000'000);
    h.ingest(c.at(960 + 6'000'000));  // 100,000 steps later: the ops spread at 1/s
    CHECK(h.backend_points() == 50);
    CHECK(h.open_step_start() == 960 + 6'000'000);
    for (double v : h.forecast_input_backend(0).values) {
      CHECK(v == doctest::Approx(1.0));
    }
    Series s = h.forecast_input_segment(1, 1);
    CHECK(s.start_unix_s == 960 + 6'000'000 - 2 * 60);
  }

  TEST_CASE("sources keep the top ones by rate and sum the rest as other") {
    History h(opts(), 2, kNames);
    Counters c(2);
    const size_t n = History::kMaxSources + 200;
    for (size_t i = 0; i < n; ++i) {
      c.s.sources.emplace_back("client-" + std::to_string(i), 0);
    }
    h.ingest(c.at(960));
    uint64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      c.s.sources[i].second += i + 1;
      total += i + 1;
    }
    c.s.sources.emplace_back("10.0.0.9", 7);  // new: counted from zero
    total += 7;
    h.ingest(c.at(1020));
    std::vector<SourceLoad> src = h.sources();
    REQUIRE(src.size() == History::kMaxSources + 1);
    CHECK(src.front().name == "client-" + std::to_string(n - 1));
    CHECK(src.front().ops_per_s == doctest::Approx(static_cast<double>(n) / 60));
    CHECK(src.back().name == "other");
    uint64_t sum = 0;
    for (const SourceLoad& s : src) {
      sum += s.total_ops;
    }
    CHECK(sum == total);
  }

  TEST_CASE("memory stays within the budget for 16384 slots at defaults") {
    std::vector<std::string> names;
    for (int i = 0; i < 16; ++i) {
      names.push_back("redis-" + std::to_string(i));
    }
    History h(History::Options{}, 16384, names);
    Counters c(16384);
    c.s.backend_reads.assign(16, 0);
    for (auto* v :
         {&c.s.backend_writes, &c.s.backend_other, &c.s.backend_bytes_in, &c.s.backend_bytes_out}) {
      v->assign(16, 0);
    }
    for (int i = 0; i < 1500; ++i) {
      c.s.sources.emplace_back("client-with-a-long-name-" + std::to_string(i), 0);
    }
    h.ingest(c.at(1'700'000'000));
    for (auto& [n, ops] : c.s.sources) {
      ops += n.size();
    }
    h.ingest(c.at(1'700'000'400));
    MESSAGE("History memory at defaults (16384 slots, 16 backends): "
            << h.memory_bytes() << " bytes (" << h.memory_bytes() / (1024.0 * 1024.0) << " MiB), "
            << h.slot_capacity() << " points per slot (" << h.slot_capacity() * 300 / 3600.0
            << " h), " << h.backend_capacity() << " per backend");
    CHECK(h.memory_bytes() <= History::Options{}.memory_budget_bytes);
    CHECK(h.memory_bytes() >= History::Options{}.memory_budget_bytes * 95 / 100);
    CHECK(h.slot_capacity() >= 950);
    CHECK(h.backend_capacity() == 4032);
  }

  TEST_CASE("save and load round trip, backends matched by name") {
    TempDir dir;
    const std::string path = dir.path + "/history";
    History h(opts(60, 1 << 20, 20), 16, kNames);
    Counters c(16);
    c.s.sources = {{"app", 0}, {"10.1.1.1", 0}};
    fill(h, c, 960, 7);
    c.ops(4, 30);  // an open step, half full
    c.s.sources[0].second += 90;
    h.ingest(c.at(960 + 8 * 60 - 30));
    REQUIRE(h.save(path).is_ok());
    CHECK(access((path + ".tmp").c_str(), F_OK) != 0);

    SUBCASE("same config") {
      Result<History> r = History::load(path, opts(60, 1 << 20, 20), 16, kNames);
      REQUIRE_MESSAGE(r.is_ok(), r.status().message());
      const History& g = r.value();
      CHECK(g.points() == h.points());
      CHECK(g.open_step_start() == h.open_step_start());
      CHECK(g.forecast_input_segment(0, 15).values == h.forecast_input_segment(0, 15).values);
      CHECK(g.forecast_input_all().values == h.forecast_input_all().values);
      CHECK(g.forecast_input_backend(0).values == h.forecast_input_backend(0).values);
      REQUIRE(g.sources().size() == 1);
      CHECK(g.sources()[0].name == "app");
      CHECK(g.sources()[0].total_ops == 90);
      // The next snapshot is only a baseline; the open step's 30 ops survive.
      Result<History> again = History::load(path, opts(60, 1 << 20, 20), 16, kNames);
      History& k = again.value();
      Counters after(16);
      CHECK(k.ingest(after.at(960 + 8 * 60 - 10)) == IngestResult::Baseline);
      k.ingest(after.at(960 + 8 * 60 + 5));
      CHECK(k.recent_segment(4, 4, 1).values.at(0) * 60 == doctest::Approx(30));
    }
    SUBCASE("backends renamed and reordered, smaller budget") {
      const std::vector<std::string> names = {"redis-9", "redis-1"};
      Result<History> r = History::load(path, opts(60, 0, 20), 16, names);
      REQUIRE(r.is_ok());
      const History& g = r.value();
      CHECK(g.points() == 2);  // the newest two
      CHECK(g.forecast_input_segment(3, 3).values == h.recent_segment(3, 3, 2).values);
      CHECK(g.forecast_input_backend(1).values == h.forecast_input_backend(0).values);
      for (double v : g.forecast_input_backend(0).values) {
        CHECK(v == 0);
      }
    }
  }

  TEST_CASE("a file for another slot count or step starts fresh with a reason") {
    TempDir dir;
    const std::string path = dir.path + "/history";
    History h(opts(60, 1 << 20, 20), 16, kNames);
    REQUIRE(h.save(path).is_ok());
    Result<History> slots = History::load(path, opts(60, 1 << 20, 20), 32, kNames);
    REQUIRE_FALSE(slots.is_ok());
    CHECK(slots.status().code() == proxy::Code::InvalidArgument);
    CHECK(slots.status().message().find("16 slots") != std::string::npos);
    Result<History> step = History::load(path, opts(300, 1 << 20, 20), 16, kNames);
    REQUIRE_FALSE(step.is_ok());
    CHECK(step.status().message().find("starting fresh") != std::string::npos);
  }

  TEST_CASE("a corrupt, truncated or missing file is refused") {
    TempDir dir;
    const std::string path = dir.path + "/history";
    History h(opts(60, 1 << 20, 20), 16, kNames);
    Counters c(16);
    fill(h, c, 960, 4);
    REQUIRE(h.save(path).is_ok());
    const std::string good = slurp(path);
    auto load = [&] { return History::load(path, opts(60, 1 << 20, 20), 16, kNames); };
    REQUIRE(load().is_ok());

    SUBCASE("a flipped byte in the points") {
      std::string bad = good;
      bad[bad.size() / 2] ^= 0x40;
      spit(path, bad);
      CHECK(load().status().code() == proxy::Code::Corrupt);
    }
    SUBCASE("truncated") {
      for (size_t len : {good.size() - 1, good.size() / 2, size_t{60}, size_t{3}}) {
        spit(path, good.substr(0, len));
        CHECK(load().status().code() == proxy::Code::Corrupt);
      }
    }
    SUBCASE("trailing bytes") {
      spit(path, good + "x");
      CHECK(load().status().code() == proxy::Code::Corrupt);
    }
    SUBCASE("not a history file") {
      spit(path, "segment-map v1\n");
      CHECK(load().status().code() == proxy::Code::Corrupt);
    }
    SUBCASE("missing") {
      CHECK(History::load(dir.path + "/nope", opts(), 16, kNames).status().code() ==
            proxy::Code::NotFound);
    }
  }

  TEST_CASE("save reports an unwritable path and leaves nothing behind") {
    History h(opts(60, 1 << 20, 20), 4, kNames);
    Status st = h.save("/nonexistent-dir/history");
    CHECK(st.code() == proxy::Code::IoError);
    CHECK(st.message().find("/nonexistent-dir/history.tmp") != std::string::npos);
  }
}

}  // namespace migrate
