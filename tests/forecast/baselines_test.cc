// Baselines: the Holt-Winters recursion with fixed parameters must equal
// statsmodels' ExponentialSmoothing, seasonal naive must equal the numpy
// version (goldens), Nelder-Mead must minimise, and errors are Statuses.
#include "forecast/baselines.h"

#include <doctest/doctest.h>

#include <cmath>

#include "tests/forecast/testdata.h"

using namespace forecast;

namespace {
TimeSeries series(const char* name) { return load_csv(forecast_test::testdata_path(name)).value(); }
}  // namespace

TEST_SUITE("HoltWinters") {
  TEST_CASE("fixed-parameter recursion equals statsmodels ExponentialSmoothing") {
    const auto pv = forecast_test::read_column("hw_params.csv", 1);
    const HoltWintersParams hp{pv[0], pv[1], pv[2], pv[3]};
    const TimeSeries y = series("series_full.csv");
    const size_t m = 48;
    // Fit on the first two seasons (the initial state comes from them, as in
    // the golden), then compare every one-step forecast while observing.
    auto fm = HoltWintersModel::with_fixed(hp).fit(y.slice(0, 2 * m), ModelParams{});
    REQUIRE(fm.is_ok());
    const auto one_step = forecast_test::read_column("hw_fitted.csv", 1);
    REQUIRE(one_step.size() == y.size());
    for (size_t t = 2 * m; t < y.size(); ++t) {
      CHECK(fm.value()->point(1) == doctest::Approx(one_step[t]).epsilon(1e-10));
      fm.value()->observe(y[t]);
    }
    // Forecasts: statsmodels 0.13 reuses the seasonal value from *before* the
    // last update at leads that are whole seasons (its s[nobs+m-1:] copy starts
    // one slot early); we use the updated one, the textbook s_{T+h-m(k+1)} and
    // the reference tool's hw_filter. Every other lead must agree.
    const auto ahead = forecast_test::read_column("hw_forecast.csv", 1);
    auto fc = fm.value()->predict(static_cast<int>(ahead.size()));
    REQUIRE(fc.is_ok());
    for (size_t h = 0; h < ahead.size(); ++h) {
      if ((h + 1) % m == 0) continue;
      CHECK(fc->yhat[h] == doctest::Approx(ahead[h]).epsilon(1e-10));
    }
  }

  TEST_CASE("fitted parameters stay in their ranges and the damped trend is damped") {
    auto fm = HoltWintersModel().fit(series("series_full.csv"), ModelParams{});
    REQUIRE(fm.is_ok());
    const HoltWintersParams* hp = holt_winters_params(*fm.value());
    REQUIRE(hp != nullptr);
    CHECK(hp->alpha > 0);
    CHECK(hp->alpha < 1);
    CHECK(hp->phi >= 0.8);
    CHECK(hp->phi <= 0.98);
    CHECK(hp->gamma <= 1 - hp->alpha);
    auto undamped = HoltWintersModel(true).fit(series("series_full.csv"), ModelParams{});
    CHECK(holt_winters_params(*undamped.value())->phi == 1.0);
  }

  TEST_CASE("replay rewinds the state to a shorter history") {
    const TimeSeries y = series("series_full.csv");
    auto a = HoltWintersModel().fit(y, ModelParams{}).value();
    const double end_forecast = a->point(1);
    REQUIRE(a->replay(y.slice(0, 300)).is_ok());
    const double mid = a->point(1);
    for (size_t t = 300; t < y.size(); ++t) a->observe(y[t]);
    CHECK(a->point(1) == doctest::Approx(end_forecast).epsilon(1e-12));
    CHECK(mid != doctest::Approx(end_forecast));
  }

  TEST_CASE("too little data or a bad season is refused") {
    const TimeSeries y = series("series_full.csv");
    CHECK(HoltWintersModel().fit(y.slice(0, 60), ModelParams{}).status().code() ==
          Code::NotEnoughData);
    ModelParams one;
    one.season_steps = 1;
    CHECK(HoltWintersModel().fit(y, one).status().code() == Code::InvalidArgument);
    CHECK(HoltWintersModel().fit(TimeSeries(), ModelParams{}).status().code() ==
          Code::InvalidArgument);
  }

  TEST_CASE("Nelder-Mead finds the minimum of the Rosenbrock valley") {
    auto f = [](const std::vector<double>& x) {
      return 100 * std::pow(x[1] - x[0] * x[0], 2) + std::pow(1 - x[0], 2);
    };
    const auto x = nelder_mead(f, {-1.2, 1.0}, 0.5, 2000, 1e-14);
    CHECK(x[0] == doctest::Approx(1).epsilon(1e-3));
    CHECK(x[1] == doctest::Approx(1).epsilon(1e-3));
  }
}

TEST_SUITE("SeasonalNaive") {
  TEST_CASE("forecasts equal the numpy reference, skipping missing seasons") {
    const TimeSeries y = series("series_gappy.csv");
    for (const auto& row : forecast_test::read_rows("snaive_expected.csv")) {
      const int h = std::stoi(row[0]);
      const size_t T = std::stoul(row[1]);
      const double want = std::strtod(row[2].c_str(), nullptr);
      auto fm = SeasonalNaiveModel().fit(y.slice(0, T - static_cast<size_t>(h) + 1), ModelParams{});
      REQUIRE(fm.is_ok());
      const double got = fm.value()->point(h);
      if (std::isnan(want)) {
        CHECK(std::isnan(got));
      } else {
        CHECK(got == want);
      }
    }
  }

  TEST_CASE("naive carries the last observed value over gaps") {
    auto s = TimeSeries::make(0, 60, {1, 2, NAN, NAN}).value();
    auto fm = NaiveModel().fit(s, ModelParams{}).value();
    CHECK(fm->point(1) == 2);
    fm->observe(NAN);
    CHECK(fm->point(5) == 2);
    fm->observe(7);
    CHECK(fm->point(1) == 7);
    CHECK(std::isnan(fm->point(0)));
  }

  TEST_CASE("an all-missing series cannot be fitted") {
    auto s = TimeSeries::make(0, 60, {NAN, NAN}).value();
    CHECK(NaiveModel().fit(s, ModelParams{}).status().code() == Code::NotEnoughData);
    CHECK(SeasonalNaiveModel().fit(s, ModelParams{}).status().code() == Code::NotEnoughData);
  }
}
