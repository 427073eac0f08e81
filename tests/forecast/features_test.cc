// Prophet design matrix: columns, changepoint placement and Fourier terms
// against numpy (golden), and Prophet's seasonality auto rules.
#include "forecast/features.h"

#include <doctest/doctest.h>

#include <cmath>

#include "forecast/series.h"
#include "tests/forecast/testdata.h"

using namespace forecast;

namespace {
std::vector<double> observed_times(const TimeSeries& s) {
  std::vector<double> t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!std::isnan(s[i])) t.push_back(static_cast<double>(s.time_at(i)));
  }
  return t;
}
}  // namespace

TEST_SUITE("FeatureSpec") {
  TEST_CASE("design rows match numpy for hinges, daily and weekly terms") {
    auto s = load_csv(forecast_test::testdata_path("series_gappy.csv")).value();
    FeatureOptions o;
    o.n_changepoints = 5;
    o.daily_order = 3;
    o.weekly_order = 2;
    auto spec = make_feature_spec(observed_times(s), 1800, o);
    REQUIRE(spec.is_ok());
    CHECK(spec->n_cols() == 2 + 5 + 6 + 4);
    for (const auto& row : forecast_test::read_rows("design_expected.csv")) {
      std::vector<double> got(static_cast<size_t>(spec->n_cols()));
      spec->fill_row(std::strtod(row[0].c_str(), nullptr), got.data());
      REQUIRE(row.size() == got.size() + 1);
      for (size_t j = 0; j < got.size(); ++j) {
        CHECK(got[j] ==
              doctest::Approx(std::strtod(row[j + 1].c_str(), nullptr)).epsilon(1e-9).scale(1));
      }
    }
  }

  TEST_CASE("changepoints sit in the first 80% of the observations") {
    std::vector<double> t;
    for (int i = 0; i < 1000; ++i) t.push_back(1e9 + 300.0 * i);
    auto spec = make_feature_spec(t, 300, FeatureOptions{}).value();
    REQUIRE(spec.changepoints.size() == 25);
    CHECK(spec.changepoints.back() == doctest::Approx(799.0 / 999.0));
    CHECK(spec.changepoints.front() > 0);
    CHECK(std::is_sorted(spec.changepoints.begin(), spec.changepoints.end()));
  }

  TEST_CASE("a short history gets fewer changepoints, as in Prophet") {
    std::vector<double> t{0, 300, 600, 900, 1200};
    auto spec = make_feature_spec(t, 300, FeatureOptions{}).value();
    CHECK(spec.changepoints.size() == 3);  // floor(5 * 0.8) - 1
  }

  TEST_CASE("seasonalities follow Prophet's auto rules") {
    auto times = [](double days, double step) {
      std::vector<double> t;
      for (double x = 0; x <= days * 86400; x += step) t.push_back(x);
      return t;
    };
    auto names = [](const FeatureSpec& f) {
      std::string s;
      for (const auto& z : f.seasonalities) s += z.name + ":" + std::to_string(z.order) + " ";
      return s;
    };
    CHECK(names(make_feature_spec(times(1.5, 300), 300, {}).value()) == "");
    CHECK(names(make_feature_spec(times(3, 300), 300, {}).value()) == "daily:10 ");
    CHECK(names(make_feature_spec(times(15, 300), 300, {}).value()) == "daily:10 weekly:3 ");
    CHECK(names(make_feature_spec(times(30, 86400), 86400, {}).value()) == "weekly:3 ");
    FeatureOptions forced;
    forced.daily_order = 0;
    forced.weekly_order = 5;
    CHECK(names(make_feature_spec(times(3, 300), 300, forced).value()) == "weekly:5 ");
  }

  TEST_CASE("the Gram matrix equals X'X and X'y") {
    std::vector<double> t;
    for (int i = 0; i < 300; ++i) t.push_back(1.7e9 + 900.0 * i);
    auto spec = make_feature_spec(t, 900, FeatureOptions{}).value();
    Eigen::VectorXd y = Eigen::VectorXd::LinSpaced(300, -1, 2);
    Eigen::MatrixXd g;
    Eigen::VectorXd b;
    spec.gram(t, y, g, b);
    const Eigen::MatrixXd x = spec.matrix(t);
    CHECK((g - x.transpose() * x).cwiseAbs().maxCoeff() < 1e-9);
    CHECK((b - x.transpose() * y).cwiseAbs().maxCoeff() < 1e-9);
  }

  TEST_CASE("bad options and too few points are errors") {
    CHECK(make_feature_spec({1.0}, 300, {}).status().code() == Code::NotEnoughData);
    FeatureOptions bad;
    bad.changepoint_range = 1.5;
    CHECK(make_feature_spec({0, 300}, 300, bad).status().code() == Code::InvalidArgument);
    CHECK(make_feature_spec({0, 300}, 0, {}).status().code() == Code::InvalidArgument);
  }
}
