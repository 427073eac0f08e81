// Forecaster tests on a real uv loop: a seasonal series forecast within a
// small error, the callback exactly once on the loop thread, busy refusal,
// a clean loop close with a job in flight, fallbacks, the rolling error, and
// select_inputs() choosing backends, heavy segments and "other".
#include "migrate/forecaster.h"

#include <doctest/doctest.h>
#include <uv.h>

#include <cmath>
#include <memory>
#include <thread>

#include "migrate/history.h"

namespace migrate {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr uint64_t kT0 = 1'700'006'400;  // a midnight UTC

// Daily sine around 1000 with a small deterministic wobble, 5-minute steps.
double load_at(uint64_t t) {
  const double day = static_cast<double>(t % 86400) / 86400.0;
  return 1000 + 400 * std::sin(2 * kPi * day) + 10 * std::sin(static_cast<double>(t) / 997.0);
}
SeriesInput seasonal(const std::string& name, size_t n, uint64_t start = kT0) {
  SeriesInput in{name, start, 300, {}};
  for (size_t i = 0; i < n; ++i) {
    in.values.push_back(load_at(start + i * 300));
  }
  return in;
}

// Owns a loop; the destructor drains it and checks it closes clean.
struct Loop {
  uv_loop_t loop;
  Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
};

Forecaster::Options opts() { return Forecaster::Options{}; }

}  // namespace

TEST_SUITE("Forecaster") {
  TEST_CASE("a seasonal series gets a forecast with a small error") {
    Loop l;
    Forecaster f(&l.loop, opts());
    std::shared_ptr<const ForecastSet> got;
    REQUIRE(f.request({seasonal("segment 3", 7 * 288)}, [&](auto set) { got = set; }));
    l.run();
    REQUIRE(got != nullptr);
    REQUIRE(got->series.size() == 1);
    const SeriesForecast& s = got->series[0];
    CHECK(s.name == "segment 3");
    CHECK(s.model == "auto");
    CHECK_FALSE(s.fallback);
    CHECK(s.start_unix_s == kT0 + 7 * 86400);
    CHECK(s.step_s == 300);
    REQUIRE(s.yhat.size() == 12);  // one hour
    CHECK(s.actuals.size() == 24);
    CHECK(s.actuals_start_unix_s == kT0 + 7 * 86400 - 7200);
    double smape = 0;
    for (size_t i = 0; i < s.yhat.size(); ++i) {
      const double y = load_at(s.start_unix_s + i * 300);
      smape += 200 * std::abs(y - s.yhat[i]) / (y + s.yhat[i]) / 12;
      CHECK(s.lower[i] <= s.yhat[i]);
      CHECK(s.upper[i] >= s.yhat[i]);
    }
    MESSAGE("seasonal sMAPE " << smape << "%, fit " << s.fit_ms << " ms");
    CHECK(smape < 3.0);
    CHECK(got->fit_ms_total >= s.fit_ms);
    CHECK(got->made_at_unix_s > 0);
    CHECK(f.latest() == got);
  }

  TEST_CASE("the callback fires exactly once, on the loop thread") {
    Loop l;
    Forecaster f(&l.loop, opts());
    int calls = 0;
    std::thread::id where;
    REQUIRE(f.request({seasonal("a", 100), seasonal("b", 50)}, [&](auto set) {
      ++calls;
      where = std::this_thread::get_id();
      CHECK(set->series.size() == 2);
      CHECK_FALSE(f.busy());
    }));
    CHECK(f.busy());
    l.run();
    CHECK(calls == 1);
    CHECK(where == std::this_thread::get_id());
  }

  TEST_CASE("a second request while busy is refused and never called back") {
    Loop l;
    Forecaster f(&l.loop, opts());
    int first = 0, second = 0;
    REQUIRE(f.request({seasonal("a", 300)}, [&](auto) { ++first; }));
    CHECK_FALSE(f.request({seasonal("a", 300)}, [&](auto) { ++second; }));
    l.run();
    CHECK(first == 1);
    CHECK(second == 0);
    SUBCASE("and accepted again once done, also from inside the callback") {
      int third = 0;
      REQUIRE(f.request({seasonal("a", 30)}, [&](auto) {
        ++third;
        CHECK(f.request({seasonal("a", 30)}, [&](auto) { ++third; }));
      }));
      l.run();
      CHECK(third == 2);
    }
  }

  TEST_CASE("the loop closes clean with a job in flight") {
    Loop l;  // its destructor checks uv_loop_close() == 0
    int calls = 0;
    SUBCASE("cancel") {
      Forecaster f(&l.loop, opts());
      REQUIRE(f.request({seasonal("a", 2016), seasonal("b", 2016)}, [&](auto) { ++calls; }));
      f.cancel();
      CHECK_FALSE(f.busy());
      l.run();
      CHECK(calls == 0);
    }
    SUBCASE("destroyed") {
      auto f = std::make_unique<Forecaster>(&l.loop, opts());
      REQUIRE(f->request({seasonal("a", 2016)}, [&](auto) { ++calls; }));
      f.reset();
      l.run();
      CHECK(calls == 0);
    }
    SUBCASE("destroyed by its own callback") {
      auto f = std::make_unique<Forecaster>(&l.loop, opts());
      REQUIRE(f->request({seasonal("a", 40)}, [&](auto) {
        ++calls;
        f.reset();
      }));
      l.run();
      CHECK(calls == 1);
      CHECK(f == nullptr);
    }
  }

  TEST_CASE("short, empty and broken series get a flagged fallback") {
    Loop l;
    Forecaster f(&l.loop, opts());
    SeriesInput nan = seasonal("nan", 400);
    for (double& v : nan.values) {
      v = std::nan("");
    }
    SeriesInput inf = seasonal("inf", 400);
    inf.values[7] = INFINITY;
    std::shared_ptr<const ForecastSet> got;
    REQUIRE(f.request({seasonal("short", 5), SeriesInput{"empty", kT0, 300, {}}, nan, inf},
                      [&](auto set) { got = set; }));
    l.run();
    REQUIRE(got != nullptr);
    const SeriesForecast* s = got->find("short");
    REQUIRE(s != nullptr);
    CHECK(s->fallback);
    CHECK(s->model == "naive");
    CHECK(s->fallback_reason.find("min_points") != std::string::npos);
    CHECK(s->yhat.at(0) == doctest::Approx(load_at(kT0 + 4 * 300)));
    const SeriesForecast* e = got->find("empty");
    REQUIRE(e != nullptr);
    CHECK(e->model == "none");
    CHECK(e->yhat == std::vector<double>(12, 0.0));
    for (const char* name : {"nan", "inf"}) {
      const SeriesForecast* b = got->find(name);
      REQUIRE(b != nullptr);
      CHECK(b->fallback);
      CHECK_FALSE(b->fallback_reason.empty());
      REQUIRE(b->yhat.size() == 12);
      for (size_t i = 0; i < 12; ++i) {
        CHECK(std::isfinite(b->yhat[i]));
        CHECK(std::isfinite(b->lower[i]));
        CHECK(std::isfinite(b->upper[i]));
      }
    }
  }

  TEST_CASE("rolling error scores the reference forecast against later actuals") {
    Loop l;
    Forecaster f(&l.loop, opts());
    CHECK(std::isnan(f.rolling_error("s")));
    std::shared_ptr<const ForecastSet> first;
    REQUIRE(f.request({seasonal("s", 3 * 288)}, [&](auto set) { first = set; }));
    l.run();
    REQUIRE(first != nullptr);
    const SeriesForecast& p = first->series[0];

    // Three steps later: the new actuals score leads 1..3, each once.
    SeriesInput next = seasonal("s", 3 * 288 + 3);
    double want = 0;
    for (size_t i = 0; i < 3; ++i) {
      const double y = next.values[3 * 288 + i];
      want += 200 * std::abs(y - p.yhat[i]) / (std::abs(y) + std::abs(p.yhat[i])) / 3;
    }
    REQUIRE(f.request({next}, [](auto) {}));
    l.run();
    ErrorStats e = f.rolling_errors("s");
    CHECK(e.points == 3);
    CHECK(f.rolling_error("s") == doctest::Approx(want));
    CHECK(e.mase > 0);

    // The reference stays until its hour is over: one more step is scored
    // against the first forecast, then observe() adds another.
    REQUIRE(f.request({seasonal("s", 3 * 288 + 4)}, [](auto) {}));
    l.run();
    CHECK(f.rolling_errors("s").points == 4);
    const double y3 = load_at(p.start_unix_s + 3 * 300);
    const double e3 = 200 * std::abs(y3 - p.yhat[3]) / (y3 + p.yhat[3]);
    f.observe("s", p.start_unix_s + 4 * 300, p.yhat[4]);  // a perfect point
    CHECK(f.rolling_errors("s").points == 5);
    f.observe("s", p.start_unix_s + 4 * 300, 0);  // already scored: ignored
    CHECK(f.rolling_errors("s").points == 5);
    CHECK(f.rolling_error("s") == doctest::Approx((3 * want + e3 + 0) / 5));
  }

  TEST_CASE("select_inputs takes every backend, the heavy segments and other") {
    History::Options ho;
    ho.step_s = 300;
    ho.memory_budget_bytes = 4 << 20;
    History h(ho, 64, {"redis-1", "redis-2"});
    TelemetrySnapshot s;
    for (auto* v :
         {&s.slot_reads, &s.slot_writes, &s.slot_other, &s.slot_bytes_in, &s.slot_bytes_out}) {
      v->assign(64, 0);
    }
    for (auto* v : {&s.backend_reads, &s.backend_writes, &s.backend_other, &s.backend_bytes_in,
                    &s.backend_bytes_out}) {
      v->assign(2, 0);
    }
    s.unix_s = kT0;
    h.ingest(s);
    for (int k = 1; k <= 30; ++k) {
      for (uint32_t slot = 0; slot < 64; ++slot) {
        s.slot_reads[slot] += slot == 17 ? 9000 : 10;  // segment 2 (slots 16..23) is hot
        s.backend_reads[slot < 32 ? 0 : 1] += slot == 17 ? 9000 : 10;
      }
      s.unix_s = kT0 + k * 300;
      h.ingest(s);
    }
    std::vector<std::pair<uint32_t, uint32_t>> segs;
    for (uint32_t i = 0; i < 8; ++i) {
      segs.emplace_back(i * 8, i * 8 + 7);
    }
    std::vector<SeriesInput> in = select_inputs(h, segs, 0.05);
    REQUIRE(in.size() == 4);
    CHECK(in[0].name == "backend redis-1");
    CHECK(in[1].name == "backend redis-2");
    CHECK(in[2].name == "segment 2");
    CHECK(in[3].name == "other");
    REQUIRE(in[3].values.size() == 30);
    CHECK(in[2].values[0] * 300 == doctest::Approx(9000 + 7 * 10));
    CHECK(in[3].values[0] * 300 == doctest::Approx(56 * 10));
    CHECK(in[0].values.size() == 30);
    CHECK(in[0].step_s == 300);
    // A share of 0 still leaves idle segments in "other"; 1.0 keeps only other.
    CHECK(select_inputs(h, segs, 1.0).size() == 3);
    CHECK(select_inputs(h, segs, 0.0).size() == 2 + 8 + 1);
  }
}

}  // namespace migrate
