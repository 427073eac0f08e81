// Rolling-origin backtest: with the reference tool's settings it must give
// the MASE and sMAPE that tools/forecast-baselines.py computes on the same
// series (golden), and it must refuse bad protocols.
#include "forecast/backtest.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "tests/forecast/testdata.h"

using namespace forecast;

namespace {
using forecast_test::gappy;
}  // namespace

TEST_SUITE("Backtest") {
  TEST_CASE("reference settings reproduce tools/forecast-baselines.py") {
    struct Ref {
      const char* model;
      Origins origins;
      int refit;
    };
    const std::map<std::string, Ref> refs{
        {"naive", {"naive", Origins::Strict, 0}},
        {"snaive_d", {"seasonal-naive", Origins::Strict, 0}},
        {"hw", {"holt-winters-undamped", Origins::Replay, 0}},
        {"hw_damped", {"holt-winters", Origins::Replay, 0}},
        {"prophet_r", {"prophet-ridge", Origins::AfterTraining, -1}},
    };
    const TimeSeries s = gappy();
    for (const auto& row : forecast_test::read_rows("backtest_expected.csv")) {
      const Ref& r = refs.at(row[0]);
      CAPTURE(row[0]);
      CAPTURE(row[1]);
      ModelParams p;
      p.features.daily_order = 10;  // the tool's ProphetRidge always has both
      p.features.weekly_order = 3;
      BacktestOptions o;
      o.origins = r.origins;
      o.refit_every = r.refit;
      auto sc = evaluate(*make_model(r.model).value(), p, s, o);
      REQUIRE(sc.is_ok());
      const auto& h = sc->horizons[row[1] == "1h" ? 0 : 1];
      CHECK(h.mase == doctest::Approx(std::strtod(row[2].c_str(), nullptr)).epsilon(1e-9));
      CHECK(h.smape == doctest::Approx(std::strtod(row[3].c_str(), nullptr)).epsilon(1e-9));
    }
  }

  TEST_CASE("the split follows the protocol") {
    auto sp = make_split(gappy(), 0.2);
    REQUIRE(sp.is_ok());
    CHECK(sp->test_start == 384);  // floor(480 * 0.8)
    CHECK(sp->season == 48);
    CHECK(sp->scale > 0);
    for (size_t t : sp->targets) CHECK_FALSE(std::isnan(gappy()[t]));
    CHECK(default_horizons(1800) == std::vector<int>{2, 48});
    CHECK(default_horizons(300) == std::vector<int>{12, 288});
  }

  TEST_CASE("accuracy: MASE scales the mean absolute error, sMAPE is M4's") {
    auto s = TimeSeries::make(0, 60, {1, 2, 0, 4}).value();
    const Accuracy a = accuracy(s, {1, 2, 3}, {1, 0, 2}, 2.0);
    CHECK(a.mase == doctest::Approx((1 + 0 + 2) / 3.0 / 2.0));
    CHECK(a.smape == doctest::Approx((200.0 / 3 + 0 + 200.0 * 2 / 6) / 3));
  }

  TEST_CASE("fit times are recorded, one per fit") {
    BacktestOptions o;
    o.refit_every = 48;
    auto sc = evaluate(*make_model("prophet").value(), ModelParams{}, gappy(), o);
    REQUIRE(sc.is_ok());
    CHECK(sc->fit_seconds.size() == 3);  // first origin, then two daily refits
    CHECK(sc->median_fit_ms() > 0);
    CHECK(sc->failed_fits == 0);
  }

  TEST_CASE("kept predictions and bands line up with the targets") {
    BacktestOptions o;
    o.keep_predictions = true;
    auto sc = evaluate(*make_model("auto").value(), ModelParams{}, gappy(), o);
    REQUIRE(sc.is_ok());
    const auto sp = make_split(gappy(), 0.2).value();
    for (const auto& h : sc->horizons) {
      REQUIRE(h.yhat.size() == sp.targets.size());
      for (size_t i = 0; i < h.yhat.size(); ++i) {
        CHECK(std::isfinite(h.yhat[i]));
        CHECK(h.lower[i] <= h.yhat[i]);
        CHECK(h.upper[i] >= h.yhat[i]);
      }
      CHECK(h.coverage > 0.3);
    }
  }

  TEST_CASE("pick chooses the more accurate model on the training part") {
    auto naive = make_model("naive").value();
    auto hw = make_model("holt-winters").value();
    auto best = pick({naive.get(), hw.get()}, ModelParams{}, gappy(), BacktestOptions{});
    REQUIRE(best.is_ok());
    CHECK(best.value() == "holt-winters");
  }

  TEST_CASE("bad protocols are refused") {
    auto m = make_model("naive").value();
    BacktestOptions zero;
    zero.horizons = {0};
    CHECK(evaluate(*m, ModelParams{}, gappy(), zero).status().code() == Code::InvalidArgument);
    BacktestOptions frac;
    frac.test_fraction = 1.0;
    CHECK(evaluate(*m, ModelParams{}, gappy(), frac).status().code() == Code::InvalidArgument);
    CHECK(evaluate(*m, ModelParams{}, TimeSeries(), BacktestOptions{}).status().code() ==
          Code::InvalidArgument);
    auto tiny = TimeSeries::make(0, 300, {1, 2, 3}).value();
    CHECK(evaluate(*m, ModelParams{}, tiny, BacktestOptions{}).status().code() ==
          Code::NotEnoughData);
    CHECK(make_model("arima").status().code() == Code::InvalidArgument);
  }
}
