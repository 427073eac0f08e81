// A small fleet simulation (sim/) on synthetic daily traces written to a
// temp folder (3 days, 8 backends, 512 segments, loadThreshold 0.95, one
// migration at a time): the modes must order predictive < reactive < static on
// overloaded windows, predictive must move no more bytes than reactive, and a
// static run must move nothing.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "forecast/series.h"
#include "sim/forecasts.h"
#include "sim/runner.h"
#include "sim/workload.h"

namespace sim {
namespace {

// Six CSV traces, 12 days of 5-minute points: a sharp daily peak whose width
// differs per file, a weekly dip, and a small deterministic wobble.
std::string write_traces() {
  const auto dir =
      std::filesystem::temp_directory_path() / ("foreshard_sim_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const char* names[] = {"nasa_http_5min",
                         "nab_nyc_taxi",
                         "nab_elb_request_count_8c0756",
                         "nab_twitter_volume_AMZN",
                         "nab_rds_cpu_utilization_cc0c53",
                         "nab_occupancy_t4013"};
  for (int f = 0; f < 6; ++f) {
    std::ofstream out(dir / (std::string(names[f]) + ".csv"));
    out << "timestamp,value\n";
    for (int i = 0; i < 12 * 288; ++i) {
      const double day = (i % 288) / 288.0;
      const double peak = std::pow(std::max(0.0, std::sin(3.14159265 * day)), 2 + f);
      const double week = (i / 288) % 7 >= 5 ? 0.8 : 1.0;
      const double v = 20 + 100 * week * peak + 2 * std::sin(i * 0.37);
      out << forecast::format_timestamp(1'700'006'400 + 300LL * i) << "," << v << "\n";
    }
  }
  return dir.string();
}

}  // namespace

TEST_SUITE("Simulator") {
  TEST_CASE("predictive has fewer overloaded windows than reactive, reactive fewer than static") {
    Scenario sc;
    sc.trace_dir = write_traces();
    sc.days = 3;
    sc.warmup_days = 7;
    sc.backends = 8;
    sc.segments = 512;
    sc.groups = 4;
    sc.zone_hours = 6;
    sc.flash_day = 1.5;
    auto w = Workload::build(sc);
    REQUIRE(w.is_ok());
    ForecastOptions fo;
    fo.horizon_points = 24;
    auto f = GroupForecasts::build(w.value(), fo);
    REQUIRE(f.is_ok());
    auto run_mode = [&](migrate::BalancerMode m) {
      RunOptions o;
      o.label = migrate::balancer_mode_name(m);
      o.progress = false;
      o.params.mode = m;
      o.params.load_threshold = 0.95;
      o.params.max_concurrent_migrations = 1;
      o.params.rate = {25e6, 10};
      o.params.horizon_seconds = 23 * 300;
      return run(w.value(), f.value(), o);
    };
    const RunResult st = run_mode(migrate::BalancerMode::Static);
    const RunResult re = run_mode(migrate::BalancerMode::Reactive);
    const RunResult pr = run_mode(migrate::BalancerMode::Predictive);
    MESSAGE("overloaded: static ", st.overloaded, ", reactive ", re.overloaded, ", predictive ",
            pr.overloaded, "; GB moved reactive ", re.bytes_moved / 1e9, ", predictive ",
            pr.bytes_moved / 1e9);
    CHECK(st.moves == 0);
    CHECK(st.bytes_moved == 0);
    CHECK(st.overloaded > 0);
    CHECK(re.overloaded < st.overloaded);
    CHECK(pr.overloaded < re.overloaded);
    CHECK(pr.bytes_moved <= re.bytes_moved);
    std::filesystem::remove_all(sc.trace_dir);
  }
}

}  // namespace sim
