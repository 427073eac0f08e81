// Prophet design matrix (Taylor & Letham 2017): trend hinges and Fourier
// seasonality columns. Changepoint placement and the seasonality auto rules
// follow Prophet's python implementation (set_changepoints,
// parse_seasonality_args) so the same history gives the same columns.
#include "forecast/features.h"

#include <algorithm>
#include <cmath>

namespace forecast {
namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kDay = 86400.0;
}  // namespace

int FeatureSpec::n_cols() const {
  int n = n_trend_cols();
  for (const Seasonality& s : seasonalities) n += 2 * s.order;
  return n;
}

int FeatureSpec::seasonal_col(size_t i) const {
  int c = n_trend_cols();
  for (size_t k = 0; k < i && k < seasonalities.size(); ++k) c += 2 * seasonalities[k].order;
  return c;
}

void fourier_terms(double t_days, double period_days, int order, double* out) {
  if (order <= 0) return;
  // Reduce the angle before the trig call: epoch days are ~2e4, and the
  // recurrence below keeps the harmonics within a few ulps of direct sin/cos.
  const double cycles = t_days / period_days;
  const double x = kTwoPi * (cycles - std::floor(cycles));
  const double s1 = std::sin(x), c1 = std::cos(x);
  double s = s1, c = c1;
  for (int k = 0; k < order; ++k) {
    out[2 * k] = s;
    out[2 * k + 1] = c;
    const double sn = s * c1 + c * s1;  // sin((k+1)x + x)
    c = c * c1 - s * s1;
    s = sn;
  }
}

void FeatureSpec::fill_row(double epoch_seconds, double* row) const {
  const double t = scaled_time(epoch_seconds);
  row[0] = 1.0;
  row[1] = t;
  int c = 2;
  for (double s : changepoints) row[c++] = t > s ? t - s : 0.0;
  const double t_days = epoch_seconds / kDay;
  for (const Seasonality& s : seasonalities) {
    fourier_terms(t_days, s.period_days, s.order, row + c);
    c += 2 * s.order;
  }
}

Eigen::MatrixXd FeatureSpec::matrix(const std::vector<double>& epoch_seconds) const {
  // Filled row by row in a row-major buffer (fill_row writes contiguous
  // entries), then handed out column-major for the Gram products.
  const int p = n_cols();
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x(
      static_cast<Eigen::Index>(epoch_seconds.size()), p);
  for (size_t i = 0; i < epoch_seconds.size(); ++i) {
    fill_row(epoch_seconds[i], x.row(static_cast<Eigen::Index>(i)).data());
  }
  return x;
}

void FeatureSpec::gram(const std::vector<double>& times, const Eigen::VectorXd& y,
                       Eigen::MatrixXd& g, Eigen::VectorXd& b) const {
  constexpr Eigen::Index kBlock = 64;
  const int p = n_cols();
  g.setZero(p, p);
  b.setZero(p);
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> blk(kBlock, p);
  const auto n = static_cast<Eigen::Index>(times.size());
  for (Eigen::Index i0 = 0; i0 < n; i0 += kBlock) {
    const Eigen::Index rows = std::min(kBlock, n - i0);
    for (Eigen::Index r = 0; r < rows; ++r)
      fill_row(times[static_cast<size_t>(i0 + r)], blk.row(r).data());
    const auto part = blk.topRows(rows);
    g.selfadjointView<Eigen::Lower>().rankUpdate(part.transpose());
    b.noalias() += part.transpose() * y.segment(i0, rows);
  }
  g.triangularView<Eigen::StrictlyUpper>() = g.transpose();
}

Result<FeatureSpec> make_feature_spec(const std::vector<double>& times, double step_seconds,
                                      const FeatureOptions& o) {
  if (times.size() < 2) return Status(Code::NotEnoughData, "need at least two observations");
  if (o.n_changepoints < 0 || o.changepoint_range < 0 || o.changepoint_range > 1) {
    return Status(Code::InvalidArgument, "changepoints: need n >= 0 and range in [0, 1]");
  }
  if (!(step_seconds > 0)) return Status(Code::InvalidArgument, "step must be > 0 seconds");
  FeatureSpec f;
  f.t0 = times.front();
  f.t_scale = std::max(times.back() - times.front(), 1.0);

  // Prophet: hist_size = floor(n * range); n_cp = min(n_cp, hist_size - 1);
  // indexes = round(linspace(0, hist_size - 1, n_cp + 1))[1:] (numpy rounds
  // half to even, as nearbyint does by default).
  const auto n = static_cast<long>(times.size());
  const long hist = static_cast<long>(std::floor(static_cast<double>(n) * o.changepoint_range));
  const long ncp = std::min<long>(o.n_changepoints, std::max<long>(hist - 1, 0));
  if (ncp > 0) {
    const double stepi = static_cast<double>(hist - 1) / static_cast<double>(ncp);
    for (long i = 1; i <= ncp; ++i) {
      const double pos = i == ncp ? static_cast<double>(hist - 1) : static_cast<double>(i) * stepi;
      const auto ix = static_cast<size_t>(std::nearbyint(pos));
      f.changepoints.push_back(f.scaled_time(times[ix]));
    }
  }

  const double span_days = (times.back() - times.front()) / kDay;
  int daily = o.daily_order, weekly = o.weekly_order;
  if (daily < 0) daily = (span_days >= 2.0 && step_seconds < kDay) ? 10 : 0;
  if (weekly < 0) weekly = (span_days >= 14.0 && step_seconds < 7 * kDay) ? 3 : 0;
  if (daily > 0) f.seasonalities.push_back({"daily", 1.0, daily});
  if (weekly > 0) f.seasonalities.push_back({"weekly", 7.0, weekly});
  return f;
}

}  // namespace forecast
