// Prophet (Taylor & Letham 2017, "Forecasting at scale"): piecewise-linear or logistic
// trend with Laplace-prior changepoints plus Normal-prior Fourier seasonality, fitted as
// the MAP (penalised least squares) on y / max|y| and t in [0,1]; intervals from the
// residual noise plus Prophet's simulated future trend changes, in closed form.
#pragma once

#include <Eigen/Dense>
#include <memory>

#include "forecast/features.h"
#include "forecast/model.h"
#include "forecast/solver.h"

namespace forecast {

class FittedProphet : public FittedModel {
 public:
  std::string_view name() const override { return "prophet"; }
  // Deterministic in time: new observations only move the forecast origin.
  void observe(double) override { advance(); }
  double point(int lead) const override;
  double spread(int lead) const override;
  Status replay(const TimeSeries& history) override;

  // Parts of the fitted curve at any time (epoch seconds), in y units.
  double trend_at(double t) const;
  double seasonal_at(double t) const;  // sum of all seasonalities
  double value_at(double t) const { return trend_at(t) + seasonal_at(t); }

  const FeatureSpec& spec() const { return spec_; }
  const Eigen::VectorXd& coefficients() const { return w_; }  // scaled units
  double y_scale() const { return y_scale_; }
  double sigma() const { return sigma_ * y_scale_; }  // residual sd, y units
  const SolveInfo& solve_info() const { return info_; }

 protected:
  void add_components(int steps, std::vector<Component>& out) const override;

 private:
  friend Result<std::unique_ptr<FittedProphet>> fit_prophet(const TimeSeries&, const ModelParams&,
                                                            ChangepointPrior);
  FittedProphet(int64_t last_time, int64_t step, double width)
      : FittedModel(last_time, step, width) {}
  double logistic_trend(double ts) const;  // scaled units

  FeatureSpec spec_;
  Eigen::VectorXd w_;  // [k, m, deltas..., seasonal betas...]
  double y_scale_ = 1;
  double sigma_ = 0;       // scaled units
  double cap_scaled_ = 0;  // logistic only
  bool logistic_ = false;
  double cp_rate_ = 0;    // changepoints per unit of scaled time
  double cp_lambda_ = 0;  // mean |delta|: scale of simulated future changes
  SolveInfo info_;
};

// Fits Prophet on the observed points of `series` with the given prior on
// the changepoint deltas (Laplace = Prophet; Normal = the python tool's ridge).
Result<std::unique_ptr<FittedProphet>> fit_prophet(const TimeSeries& series,
                                                   const ModelParams& params,
                                                   ChangepointPrior prior);

class ProphetModel : public Model {
 public:
  explicit ProphetModel(ChangepointPrior prior = ChangepointPrior::Laplace) : prior_(prior) {}
  std::string_view name() const override {
    return prior_ == ChangepointPrior::Laplace ? "prophet" : "prophet-ridge";
  }
  Result<std::unique_ptr<FittedModel>> fit(const TimeSeries& series,
                                           const ModelParams& params) const override;

 private:
  ChangepointPrior prior_;
};

}  // namespace forecast
