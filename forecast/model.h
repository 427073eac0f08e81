// The Model interface every forecaster implements: fit(series, params) -> FittedModel,
// FittedModel::predict(steps) -> Forecast (yhat, lower, upper, components). Pure,
// thread-agnostic, never throws (CONVENTIONS §3). The models live in prophet.h,
// baselines.h and auto_model.h.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "forecast/features.h"
#include "forecast/series.h"
#include "forecast/status.h"

namespace forecast {

enum class Growth { Linear, Logistic };
// Prior on the changepoint deltas: Laplace (an L1 penalty, Prophet: model
// "prophet") or Normal with the Laplace's variance (ridge; the python tool's
// "prophet_r": model "prophet-ridge").
enum class ChangepointPrior { Laplace, Normal };

struct ModelParams {
  // --- shared
  int season_steps = 0;         // season of seasonal-naive / Holt-Winters in steps; 0 = one day
  double interval_width = 0.8;  // central coverage of [lower, upper] (Prophet's default)

  // --- prophet (Taylor & Letham 2017; defaults are Prophet's)
  FeatureOptions features;  // changepoints and seasonality orders
  double changepoint_prior_scale = 0.05;
  double seasonality_prior_scale = 10.0;
  double trend_prior_scale = 5.0;  // k, m ~ N(0, 5^2)
  Growth growth = Growth::Linear;
  double cap = std::numeric_limits<double>::quiet_NaN();  // logistic capacity (y units)
  int sigma_iterations = 3;  // alternations of (coefficients | noise scale)

  // --- holt-winters
  bool damped = true;        // damped trend, phi fitted in [0.80, 0.98]
  int fit_window_days = 42;  // parameters fitted on at most the last N days

  // --- auto
  // Leads (in steps) the blend weights are tuned for; other leads use the
  // nearest one. Empty = one hour and one day.
  std::vector<int> horizons;
};

// One additive part of a forecast (trend, daily, weekly, level, ...).
struct Component {
  std::string name;
  std::vector<double> values;
};

struct Forecast {
  int64_t start = 0;  // epoch seconds of the first forecast step
  int64_t step = 0;
  std::vector<double> yhat, lower, upper;
  std::vector<Component> components;  // where the model has meaningful parts
};

class FittedModel {
 public:
  virtual ~FittedModel() = default;
  virtual std::string_view name() const = 0;

  // Appends the next observation (NaN = missing) and updates the state
  // (levels, filters); fitted parameters stay as they are. O(1)-ish.
  virtual void observe(double y) = 0;
  // Point forecast `lead` >= 1 steps after the last observation; NaN when the
  // model has no value there (e.g. seasonal naive without enough history).
  virtual double point(int lead) const = 0;
  // Standard deviation of the forecast error at `lead`, from residuals.
  virtual double spread(int lead) const = 0;
  // Re-runs the state over `history` with the fitted parameters, no refit:
  // history must have the fitted series' start and step (it may be shorter,
  // to rewind). Used to reproduce the reference protocol for Holt-Winters.
  virtual Status replay(const TimeSeries& history) = 0;

  // Forecast for the next `steps` steps: yhat = point(i), band = yhat +- z *
  // spread(i) with z the normal quantile of interval_width, plus components.
  // Fails on steps <= 0.
  Result<Forecast> predict(int steps) const;

  int64_t step() const { return step_; }
  // Epoch seconds of the last observation (fitted or observed).
  int64_t last_time() const { return last_time_; }

 protected:
  FittedModel(int64_t last_time, int64_t step, double interval_width)
      : last_time_(last_time), step_(step), interval_width_(interval_width) {}
  // Models with meaningful parts add them here (same length as yhat).
  virtual void add_components(int /*steps*/, std::vector<Component>& /*out*/) const {}
  void advance() { last_time_ += step_; }
  void set_last_time(int64_t t) { last_time_ = t; }

 private:
  int64_t last_time_;
  int64_t step_;
  double interval_width_;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string_view name() const = 0;
  // Fits on the whole series (NaN = missing). Never throws: a series that is
  // empty, too short or all-NaN, or bad params, give a Status.
  virtual Result<std::unique_ptr<FittedModel>> fit(const TimeSeries& series,
                                                   const ModelParams& params) const = 0;
};

// "auto", "prophet", "prophet-ridge", "holt-winters", "holt-winters-undamped",
// "seasonal-naive", "seasonal-naive-weekly", "naive".
Result<std::unique_ptr<Model>> make_model(std::string_view name);
std::vector<std::string> model_names();

// Shared checks for fit(): step > 0, interval in (0,1), some observations.
Status validate_fit_input(const TimeSeries& series, const ModelParams& params, size_t min_observed);
// Quantile of the standard normal (Acklam's rational approximation, |err| < 1.2e-9).
double normal_quantile(double p);

}  // namespace forecast
