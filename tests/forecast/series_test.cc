// TimeSeries, timestamps and CSV loading: the grid must match the reference
// tool's to_grid (golden from scripts/make_goldens.py) and every bad input
// must come back as a Status, not an exception.
#include "forecast/series.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tests/forecast/testdata.h"

using namespace forecast;

namespace {
}

TEST_SUITE("TimeSeries") {
  TEST_CASE("timestamps round-trip through epoch seconds as naive UTC") {
    CHECK(parse_timestamp("1970-01-01 00:00:00").value() == 0);
    CHECK(parse_timestamp("2014-04-10 00:04:00").value() == 1397088240);
    CHECK(parse_timestamp("1995-08-31T23:55:00").value() == 809913300);
    CHECK(parse_timestamp("1397088240").value() == 1397088240);
    CHECK(format_timestamp(1397088240) == "2014-04-10 00:04:00");
    CHECK(format_timestamp(-1) == "1969-12-31 23:59:59");
    CHECK_FALSE(parse_timestamp("2014-13-10 00:04:00").is_ok());
    CHECK_FALSE(parse_timestamp("yesterday").is_ok());
  }

  TEST_CASE("the CSV grid matches the reference tool's to_grid") {
    auto s = load_csv(forecast_test::testdata_path("grid_input.csv"));
    REQUIRE(s.is_ok());
    const auto epochs = forecast_test::read_column("grid_expected.csv", 0);
    const auto values = forecast_test::read_column("grid_expected.csv", 1);
    REQUIRE(s->size() == values.size());
    CHECK(s->start() == static_cast<int64_t>(epochs[0]));
    CHECK(s->step() == 300);
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isnan(values[i])) {
        CHECK(std::isnan((*s)[i]));
      } else {
        CHECK((*s)[i] == doctest::Approx(values[i]).epsilon(1e-12));
      }
    }
  }

  TEST_CASE("parse_csv skips the header, blank lines and empty values, and sorts rows") {
    auto rows = parse_csv(
        "timestamp,value\n2020-01-01 00:10:00,2\n\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,\n");
    REQUIRE(rows.is_ok());
    REQUIRE(rows->size() == 2);
    CHECK(rows.value()[0].value == 1);
    CHECK(rows.value()[1].value == 2);
  }

  TEST_CASE("bad CSV rows are reported with their line number") {
    auto bad_value = parse_csv("timestamp,value\n2020-01-01 00:00:00,abc\n");
    CHECK(bad_value.status().code() == Code::ParseError);
    CHECK(bad_value.status().message().find("line 2") != std::string::npos);
    CHECK(parse_csv("timestamp,value\nno comma here\n").status().code() == Code::ParseError);
    CHECK(parse_csv("timestamp,value\n2020-01-01 00:00:00,inf\n").status().code() ==
          Code::ParseError);
    CHECK(load_csv("/nonexistent/file.csv").status().code() == Code::NotFound);
  }

  TEST_CASE("an empty file or a single timestamp cannot be gridded") {
    CHECK(to_grid({}).status().code() == Code::NotEnoughData);
    CHECK(to_grid({{0, 1.0}}).status().code() == Code::NotEnoughData);
    CHECK(to_grid({{0, 1.0}}, 60).is_ok());  // with an explicit step one sample is a series
    CHECK(to_grid({{0, 1.0}, {60, 2.0}}, -5).status().code() == Code::InvalidArgument);
  }

  TEST_CASE("a step of zero or an infinite value is rejected") {
    CHECK(TimeSeries::make(0, 0, {1.0}).status().code() == Code::InvalidArgument);
    CHECK(TimeSeries::make(0, 60, {std::numeric_limits<double>::infinity()}).status().code() ==
          Code::InvalidArgument);
    CHECK(TimeSeries::make(0, 60, {kNaN, 1.0}).is_ok());
  }

  TEST_CASE("gaps fill linearly between neighbours or carry the last value") {
    auto s = TimeSeries::make(0, 60, {kNaN, 1.0, kNaN, kNaN, 4.0, kNaN}).value();
    const auto lin = s.fill_gaps(GapFill::Linear).values();
    CHECK(lin == std::vector<double>{1, 1, 2, 3, 4, 4});
    const auto carry = s.fill_gaps(GapFill::Carry).values();
    CHECK(carry == std::vector<double>{1, 1, 1, 1, 4, 4});
    auto all_nan = TimeSeries::make(0, 60, {kNaN, kNaN}).value().fill_gaps(GapFill::Linear);
    CHECK(std::isnan(all_nan[0]));
  }

  TEST_CASE("resampling averages the observed values of each coarser bin") {
    auto s =
        TimeSeries::make(120, 60, {1, 3, kNaN, kNaN, 5, kNaN, 7}).value();  // 02:00 .. 08:00 min
    auto r = s.resample(180);
    REQUIRE(r.is_ok());
    CHECK(r->start() == 0);
    CHECK(r->step() == 180);
    REQUIRE(r->size() == 3);
    CHECK((*r)[0] == 1);  // minute 2 only
    CHECK((*r)[1] == 3);  // minutes 3..5: 3, NaN, NaN
    CHECK((*r)[2] == 6);  // minutes 6..8: 5, NaN, 7
    CHECK(s.resample(90).status().code() == Code::InvalidArgument);
    CHECK(s.resample(0).status().code() == Code::InvalidArgument);
  }

  TEST_CASE("slices, tails and windows keep the time base") {
    auto s = TimeSeries::make(1000, 10, {0, 1, 2, 3, 4, 5}).value();
    auto sl = s.slice(2, 4);
    CHECK(sl.start() == 1020);
    CHECK(sl.values() == std::vector<double>{2, 3});
    CHECK(s.tail(2).values() == std::vector<double>{4, 5});
    CHECK(s.tail(99).size() == 6);
    CHECK(s.window(1015, 1040).values() == std::vector<double>{2, 3});
    CHECK(s.window(0, 5000).size() == 6);
    CHECK(s.slice(5, 2).empty());
    CHECK(s.time_at(8) == 1080);
    CHECK(s.observed_span() == 50);
  }

  TEST_CASE("steps per day rounds to whole steps") {
    CHECK(TimeSeries::make(0, 300, {}).value().steps_per_day() == 288);
    CHECK(TimeSeries::make(0, 1800, {}).value().steps_per_day() == 48);
    CHECK(TimeSeries::make(0, 7 * 86400, {}).value().steps_per_day() == 1);
  }
}
