// The "auto" forecaster: follows level shifts, ignores isolated bursts, works
// on histories too short to backtest, and is at least as good as its
// candidates on the committed series.
#include "forecast/auto_model.h"

#include <doctest/doctest.h>

#include <cmath>

#include "forecast/backtest.h"
#include "tests/forecast/testdata.h"

using namespace forecast;

namespace {
// Five days at 5 minutes: daily cycle plus deterministic noise, then `tail`.
std::vector<double> daily_cycle(int days, double level) {
  std::vector<double> v;
  for (int i = 0; i < days * 288; ++i) {
    v.push_back(level + 20 * std::sin(2 * M_PI * i / 288.0) + 3 * std::sin(i * 1.7));
  }
  return v;
}
}  // namespace

TEST_SUITE("AutoModel") {
  TEST_CASE("follows a level shift within hours, not days") {
    std::vector<double> v = daily_cycle(6, 100);
    for (int i = 0; i < 3 * 12; ++i)
      v.push_back(200 + 20 * std::sin(2 * M_PI * (v.size()) / 288.0));
    auto s = TimeSeries::make(1'700'006'400, 300, v).value();
    auto fm = AutoModel().fit(s, ModelParams{});
    REQUIRE(fm.is_ok());
    CHECK(fm.value()->point(12) > 170);  // three hours after the jump, the level has moved
  }

  TEST_CASE("isolated bursts do not drag the forecast") {
    std::vector<double> v(6 * 288, 70.0);
    for (size_t i = 0; i < v.size(); ++i) v[i] += (i * 37) % 11;  // small deterministic noise
    for (size_t i = 200; i < v.size(); i += 97) v[i] = 5e6;       // rare single-step bursts
    v.back() = 5e6;
    auto s = TimeSeries::make(1'700'006'400, 300, v).value();
    auto fm = AutoModel().fit(s, ModelParams{});
    REQUIRE(fm.is_ok());
    CHECK(fm.value()->point(12) < 1000);
  }

  TEST_CASE("a history too short to backtest still forecasts") {
    auto s = TimeSeries::make(1'700'006'400, 300, daily_cycle(1, 50)).value();
    auto fm = AutoModel().fit(s, ModelParams{});
    REQUIRE(fm.is_ok());
    auto fc = fm.value()->predict(24);
    REQUIRE(fc.is_ok());
    for (size_t i = 0; i < fc->yhat.size(); ++i) {
      CHECK(std::isfinite(fc->yhat[i]));
      CHECK(fc->lower[i] < fc->yhat[i]);
      CHECK(fc->upper[i] > fc->yhat[i]);
    }
  }

  TEST_CASE("beats naive, seasonal naive and Prophet on the committed series") {
    // Geometric mean over the 1 hour and 1 day horizons, as the eval reports.
    const TimeSeries s = load_csv(forecast_test::testdata_path("series_gappy.csv")).value();
    auto score = [&](const char* name) {
      const ModelScore m = evaluate(*make_model(name).value(), ModelParams{}, s, {}).value();
      return geometric_mean({m.horizons[0].mase, m.horizons[1].mase});
    };
    const double a = score("auto");
    for (const char* other : {"naive", "seasonal-naive", "prophet"}) {
      CAPTURE(other);
      CHECK(a < score(other));
    }
  }

  TEST_CASE("components are the weighted candidates and add up to yhat") {
    const TimeSeries s = load_csv(forecast_test::testdata_path("series_gappy.csv")).value();
    auto fc = AutoModel().fit(s, ModelParams{}).value()->predict(48);
    REQUIRE(fc.is_ok());
    REQUIRE_FALSE(fc->components.empty());
    for (size_t i = 0; i < 48; ++i) {
      double sum = 0;
      for (const auto& c : fc->components) sum += c.values[i];
      CHECK(sum == doctest::Approx(fc->yhat[i]).epsilon(1e-9));
    }
  }

  TEST_CASE("validation errors come back as a Status") {
    CHECK(AutoModel().fit(TimeSeries(), ModelParams{}).status().code() == Code::InvalidArgument);
    CHECK(AutoModel().fit(TimeSeries::make(0, 300, {}).value(), ModelParams{}).status().code() ==
          Code::NotEnoughData);
    CHECK(AutoModel()
              .fit(TimeSeries::make(0, 300, {NAN, NAN, NAN}).value(), ModelParams{})
              .status()
              .code() == Code::NotEnoughData);
    ModelParams zero;
    zero.horizons = {0};
    auto s = TimeSeries::make(0, 300, daily_cycle(3, 10)).value();
    CHECK(AutoModel().fit(s, zero).status().code() == Code::InvalidArgument);
    auto fm = AutoModel().fit(s, ModelParams{}).value();
    CHECK(fm->predict(0).status().code() == Code::InvalidArgument);
  }
}
