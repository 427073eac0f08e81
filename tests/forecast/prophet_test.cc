// Prophet: the ridge (Normal prior) fit must equal numpy's least squares, the
// Laplace (L1) fit must equal an independent FISTA solve (goldens from
// scripts/make_goldens.py); plus forecasts, components, logistic growth and
// the validation errors.
#include "forecast/prophet.h"

#include <doctest/doctest.h>

#include <cmath>

#include "tests/forecast/testdata.h"

using namespace forecast;

namespace {
using forecast_test::gappy;

ModelParams reference_params() {
  ModelParams p;  // the golden fits use daily 10 / weekly 3 whatever the span
  p.features.daily_order = 10;
  p.features.weekly_order = 3;
  return p;
}

void check_against(const FittedProphet& f, const char* coef_file, const char* forecast_file,
                   double tol) {
  const auto w = forecast_test::read_column(coef_file, 1);
  REQUIRE(static_cast<size_t>(f.coefficients().size()) == w.size());
  for (size_t j = 0; j < w.size(); ++j) {
    CHECK(f.coefficients()[static_cast<Eigen::Index>(j)] ==
          doctest::Approx(w[j]).epsilon(tol).scale(1));
  }
  const auto t = forecast_test::read_column(forecast_file, 0);
  const auto y = forecast_test::read_column(forecast_file, 1);
  for (size_t i = 0; i < t.size(); ++i)
    CHECK(f.value_at(t[i]) == doctest::Approx(y[i]).epsilon(tol));
}
}  // namespace

TEST_SUITE("Prophet") {
  TEST_CASE("the ridge MAP equals numpy least squares with sigma re-estimation") {
    auto f = fit_prophet(gappy(), reference_params(), ChangepointPrior::Normal);
    REQUIRE(f.is_ok());
    check_against(*f.value(), "ridge_coef.csv", "ridge_forecast.csv", 1e-8);
  }

  TEST_CASE("the Laplace MAP equals an independent proximal-gradient solve") {
    auto f = fit_prophet(gappy(), reference_params(), ChangepointPrior::Laplace);
    REQUIRE(f.is_ok());
    CHECK(f.value()->solve_info().exact);
    check_against(*f.value(), "lasso_coef.csv", "lasso_forecast.csv", 1e-6);
  }

  TEST_CASE("the Laplace prior zeroes most changepoint deltas") {
    auto f = fit_prophet(gappy(), reference_params(), ChangepointPrior::Laplace).value();
    int zeros = 0;
    for (int j = 2; j < f->spec().n_trend_cols(); ++j) zeros += f->coefficients()[j] == 0.0;
    CHECK(zeros > 10);
  }

  TEST_CASE("predict gives yhat inside its band and components that add up") {
    auto m = ProphetModel().fit(gappy(), reference_params());
    REQUIRE(m.is_ok());
    auto fc = m.value()->predict(96);
    REQUIRE(fc.is_ok());
    REQUIRE(fc->yhat.size() == 96);
    CHECK(fc->start == gappy().time_at(gappy().size()));
    REQUIRE(fc->components.size() == 3);  // trend, daily, weekly
    for (size_t i = 0; i < 96; ++i) {
      CHECK(fc->lower[i] < fc->yhat[i]);
      CHECK(fc->upper[i] > fc->yhat[i]);
      double sum = 0;
      for (const auto& c : fc->components) sum += c.values[i];
      CHECK(sum == doctest::Approx(fc->yhat[i]).epsilon(1e-9));
    }
    // The band widens with the horizon (future trend changes).
    CHECK(fc->upper[95] - fc->lower[95] > fc->upper[0] - fc->lower[0]);
  }

  TEST_CASE("a noise-free line with daily seasonality is recovered") {
    std::vector<double> v;
    for (int i = 0; i < 6 * 48; ++i) {
      const double d = i / 48.0;
      v.push_back(100 + 2 * d + 10 * std::sin(2 * M_PI * d));
    }
    auto s = TimeSeries::make(1'700'006'400, 1800, v).value();  // a UTC midnight
    auto f = ProphetModel().fit(s, ModelParams{});
    REQUIRE(f.is_ok());
    const double next = 100 + 2 * 6.0 + 10 * std::sin(2 * M_PI * 6.0);
    CHECK(f.value()->point(1) == doctest::Approx(next).epsilon(0.01));
  }

  TEST_CASE("logistic growth saturates below its capacity") {
    std::vector<double> v;
    for (int i = 0; i < 10 * 48; ++i) v.push_back(80.0 / (1 + std::exp(-(i / 48.0 - 4))));
    auto s = TimeSeries::make(1'700'006'400, 1800, v).value();
    ModelParams p;
    p.growth = Growth::Logistic;
    p.cap = 80;
    p.features.daily_order = 0;
    auto f = fit_prophet(s, p, ChangepointPrior::Laplace);
    REQUIRE(f.is_ok());
    const double far = f.value()->trend_at(static_cast<double>(s.time_at(s.size() + 20 * 48)));
    CHECK(far < 80.0 + 1e-9);
    CHECK(far > 75.0);
    CHECK(f.value()->trend_at(static_cast<double>(s.time_at(4 * 48))) ==
          doctest::Approx(40).epsilon(0.05));
  }

  TEST_CASE("validation errors come back as a Status") {
    ModelParams p;
    CHECK(ProphetModel().fit(TimeSeries(), p).status().code() == Code::InvalidArgument);  // step 0
    CHECK(ProphetModel().fit(TimeSeries::make(0, 60, {}).value(), p).status().code() ==
          Code::NotEnoughData);
    CHECK(ProphetModel().fit(TimeSeries::make(0, 60, {NAN, NAN, 1.0}).value(), p).status().code() ==
          Code::NotEnoughData);
    ModelParams logistic;
    logistic.growth = Growth::Logistic;  // no capacity
    CHECK(ProphetModel().fit(gappy(), logistic).status().code() == Code::InvalidArgument);
    ModelParams bad_width;
    bad_width.interval_width = 1.0;
    CHECK(ProphetModel().fit(gappy(), bad_width).status().code() == Code::InvalidArgument);
    ModelParams bad_prior;
    bad_prior.changepoint_prior_scale = 0;
    CHECK(ProphetModel().fit(gappy(), bad_prior).status().code() == Code::InvalidArgument);
    auto m = ProphetModel().fit(gappy(), ModelParams{}).value();
    CHECK(m->predict(0).status().code() == Code::InvalidArgument);
    CHECK(m->predict(-3).status().code() == Code::InvalidArgument);
  }
}
