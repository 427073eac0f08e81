// Baselines behind the Model interface: naive, seasonal naive (Hyndman & Athanasopoulos,
// FPP3 §5.2) and additive Holt-Winters with a damped trend (Gardner & McKenzie 1985),
// fitted by Nelder-Mead on the one-step squared error exactly as
// tools/forecast-baselines.py does, so both tools give the same numbers.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "forecast/model.h"

namespace forecast {

class NaiveModel : public Model {
 public:
  std::string_view name() const override { return "naive"; }
  Result<std::unique_ptr<FittedModel>> fit(const TimeSeries& series,
                                           const ModelParams& params) const override;
};

// y(T) = y(T - k*season) for the smallest k >= ceil(lead/season) whose value
// is observed (k <= 8). `weekly` picks a one-week season instead of one day
// when params.season_steps is 0.
class SeasonalNaiveModel : public Model {
 public:
  explicit SeasonalNaiveModel(bool weekly = false) : weekly_(weekly) {}
  std::string_view name() const override {
    return weekly_ ? "seasonal-naive-weekly" : "seasonal-naive";
  }
  Result<std::unique_ptr<FittedModel>> fit(const TimeSeries& series,
                                           const ModelParams& params) const override;

 private:
  bool weekly_;
};

// Smoothing parameters of additive Holt-Winters in error-correction form:
//   e = y - (l + phi*b + s[t-m]);  l' = l + phi*b + alpha*e;
//   b' = phi*b + beta*(l' - l - phi*b);  s[t] = s[t-m] + gamma*e.
struct HoltWintersParams {
  double alpha = 0.5, beta = 0.0, gamma = 0.1, phi = 1.0;
};

// Holt-Winters whose parameters are fitted (damped per params.damped, unless
// `force_undamped`), or fixed when constructed with `fixed` (used by the
// golden tests to compare the recursion with statsmodels).
class HoltWintersModel : public Model {
 public:
  explicit HoltWintersModel(bool force_undamped = false) : undamped_(force_undamped) {}
  static HoltWintersModel with_fixed(const HoltWintersParams& p);
  std::string_view name() const override {
    return undamped_ ? "holt-winters-undamped" : "holt-winters";
  }
  Result<std::unique_ptr<FittedModel>> fit(const TimeSeries& series,
                                           const ModelParams& params) const override;

 private:
  bool undamped_;
  bool has_fixed_ = false;
  HoltWintersParams fixed_;
};

// The fitted Holt-Winters parameters, for reports and tests (nullptr if
// `model` is not a Holt-Winters fit).
const HoltWintersParams* holt_winters_params(const FittedModel& model);

// Nelder-Mead (1965) with the reference tool's constants: initial simplex
// x0 + step*e_i, reflection 1, expansion 2, contraction 0.5, shrink 0.5,
// stops when the spread of values falls under tol * |best| or after iters.
std::vector<double> nelder_mead(const std::function<double(const std::vector<double>&)>& f,
                                std::vector<double> x0, double step = 0.6, int iters = 120,
                                double tol = 1e-7);

}  // namespace forecast
