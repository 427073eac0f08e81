// The Prophet design matrix (Taylor & Letham 2017, §3.1-3.2): intercept, slope, one hinge
// (t - s_j)+ per changepoint, Fourier pairs per seasonality; trend time scaled to [0,1],
// seasonal time in epoch days as in Prophet. Owns no data and fits nothing.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "forecast/status.h"

namespace forecast {

// A Fourier seasonality: `order` sin/cos pairs with period `period_days`.
struct Seasonality {
  std::string name;
  double period_days = 1.0;
  int order = 0;
};

struct FeatureOptions {
  int n_changepoints = 25;         // Prophet default
  double changepoint_range = 0.8;  // changepoints in the first 80% of the history
  // Fourier orders; -1 = Prophet's auto rule, 0 = off.
  //   daily (10):  on if the data is sub-daily and spans at least 2 days
  //   weekly (3):  on if the step is under a week and the data spans at least 2 weeks
  int daily_order = -1;
  int weekly_order = -1;
};

// The columns of the design matrix and how to build any row of it.
// Column order: [1, t, hinge_1..hinge_C, seasonality_1 sin1,cos1,..., seasonality_2 ...].
class FeatureSpec {
 public:
  double t0 = 0;                     // epoch seconds of the first observation (t = 0)
  double t_scale = 1;                // seconds from first to last observation (t = 1)
  std::vector<double> changepoints;  // in scaled time, ascending
  std::vector<Seasonality> seasonalities;

  int n_trend_cols() const { return 2 + static_cast<int>(changepoints.size()); }
  int n_cols() const;
  // First column of seasonality i.
  int seasonal_col(size_t i) const;

  double scaled_time(double epoch_seconds) const { return (epoch_seconds - t0) / t_scale; }
  // Writes the n_cols() entries of the row for time t (epoch seconds).
  void fill_row(double epoch_seconds, double* row) const;
  // One row per time.
  Eigen::MatrixXd matrix(const std::vector<double>& epoch_seconds) const;
  // G = X'X and b = X'y without forming X (rows are built in small blocks):
  // the fit only needs these, and a large temporary costs more than the maths.
  void gram(const std::vector<double>& epoch_seconds, const Eigen::VectorXd& y, Eigen::MatrixXd& g,
            Eigen::VectorXd& b) const;
};

// Builds the spec from the times (epoch seconds, ascending) of the observed
// points, placing changepoints like Prophet: C = min(n_changepoints, H - 1)
// with H = floor(n * changepoint_range), at the observation indices
// round(linspace(0, H - 1, C + 1))[1:]. step_seconds drives the daily auto rule.
Result<FeatureSpec> make_feature_spec(const std::vector<double>& observed_times,
                                      double step_seconds, const FeatureOptions& options);

// sin/cos(2*pi*k*t_days/period) for k = 1..order into out[0..2*order), by the
// angle-addition recurrence from one sin/cos pair.
void fourier_terms(double t_days, double period_days, int order, double* out);

}  // namespace forecast
