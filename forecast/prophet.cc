// Prophet fit and forecast (Taylor & Letham 2017): at fixed noise s the MAP is a ridge +
// lasso problem (solver.h); s^2 = mean residual^2 is re-estimated a few rounds as the
// python tool does. Logistic growth (Prophet's piecewise_logistic) is fitted by proximal
// Gauss-Newton, each step being the same penalised solve.
#include "forecast/prophet.h"

#include <algorithm>
#include <cmath>

namespace forecast {
namespace {

// 0.5 |r|^2 + penalties: the objective the logistic line search compares.
double penalised_objective(const Eigen::VectorXd& r, const Eigen::VectorXd& w,
                           const std::vector<Penalty>& pen) {
  double v = 0.5 * r.squaredNorm();
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    const Penalty& q = pen[static_cast<size_t>(j)];
    v += 0.5 * q.l2 * w[j] * w[j] + q.l1 * std::abs(w[j]);
  }
  return v;
}

Eigen::MatrixXd gram_of(const Eigen::MatrixXd& x) {
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(x.cols(), x.cols());
  g.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
  return g.selfadjointView<Eigen::Lower>();
}

}  // namespace

double FittedProphet::logistic_trend(double t) const {
  // Prophet's piecewise_logistic: rate k_t and offset m_t step at each
  // changepoint, offsets chosen so the curve stays continuous.
  const double k = w_[0], m = w_[1];
  double kt = k, mt = m, gsum = 0, kprev = k;
  for (size_t i = 0; i < spec_.changepoints.size(); ++i) {
    const double s = spec_.changepoints[i];
    const double knext = kprev + w_[static_cast<Eigen::Index>(2 + i)];
    const double gamma = knext != 0 ? (s - m - gsum) * (1 - kprev / knext) : 0.0;
    gsum += gamma;
    kprev = knext;
    if (t >= s) kt = knext, mt = m + gsum;
  }
  return cap_scaled_ / (1 + std::exp(-kt * (t - mt)));
}

double FittedProphet::trend_at(double t) const {
  const double ts = spec_.scaled_time(t);
  if (logistic_) return logistic_trend(ts) * y_scale_;
  double v = w_[0] + w_[1] * ts;
  for (size_t i = 0; i < spec_.changepoints.size(); ++i) {
    const double s = spec_.changepoints[i];
    if (ts > s) v += w_[static_cast<Eigen::Index>(2 + i)] * (ts - s);
  }
  return v * y_scale_;
}

double FittedProphet::seasonal_at(double t) const {
  double buf[512];
  double v = 0;
  int c = spec_.n_trend_cols();
  for (const Seasonality& s : spec_.seasonalities) {
    const int k = std::min(s.order, 256);
    fourier_terms(t / 86400.0, s.period_days, k, buf);
    for (int j = 0; j < 2 * k; ++j) v += buf[j] * w_[c + j];
    c += 2 * s.order;
  }
  return v * y_scale_;
}

double FittedProphet::point(int lead) const {
  if (lead < 1) return NAN;
  return value_at(static_cast<double>(last_time() + static_cast<int64_t>(lead) * step()));
}

double FittedProphet::spread(int lead) const {
  // Prophet simulates future changepoints (Poisson, rate = changepoints per
  // unit of history) with Laplace(0, mean|delta|) slope changes; the trend
  // deviation at horizon u = t - 1 then has variance rate * 2 lambda^2 u^3 / 3.
  const double t = spec_.scaled_time(static_cast<double>(last_time() + int64_t{lead} * step()));
  const double u = std::max(0.0, t - 1.0);
  const double trend_var = cp_rate_ * 2.0 * cp_lambda_ * cp_lambda_ * u * u * u / 3.0;
  return std::sqrt(sigma_ * sigma_ + trend_var) * y_scale_;
}

Status FittedProphet::replay(const TimeSeries& h) {
  if (h.empty()) return Status(Code::NotEnoughData, "replay: empty history");
  set_last_time(h.time_at(h.size() - 1));
  return Status::ok();
}

void FittedProphet::add_components(int steps, std::vector<Component>& out) const {
  Component trend{"trend", {}};
  std::vector<Component> seas;
  for (const Seasonality& s : spec_.seasonalities) seas.push_back({s.name, {}});
  std::vector<double> row(static_cast<size_t>(spec_.n_cols()));
  for (int i = 1; i <= steps; ++i) {
    const double t = static_cast<double>(last_time() + int64_t{i} * step());
    trend.values.push_back(trend_at(t));
    spec_.fill_row(t, row.data());
    for (size_t k = 0; k < seas.size(); ++k) {
      const int c0 = spec_.seasonal_col(k);
      double v = 0;
      for (int j = 0; j < 2 * spec_.seasonalities[k].order; ++j)
        v += row[static_cast<size_t>(c0 + j)] * w_[c0 + j];
      seas[k].values.push_back(v * y_scale_);
    }
  }
  out.push_back(std::move(trend));
  for (Component& c : seas) out.push_back(std::move(c));
}

Result<std::unique_ptr<FittedProphet>> fit_prophet(const TimeSeries& s, const ModelParams& p,
                                                   ChangepointPrior prior) {
  if (Status st = validate_fit_input(s, p, 2); !st.is_ok()) return st;
  const bool logistic = p.growth == Growth::Logistic;
  if (logistic && !(std::isfinite(p.cap) && p.cap > 0)) {
    return Status(Code::InvalidArgument, "prophet: logistic growth needs a capacity > 0");
  }
  if (!(p.changepoint_prior_scale > 0) || !(p.seasonality_prior_scale > 0) ||
      !(p.trend_prior_scale > 0) || p.sigma_iterations < 1) {
    return Status(Code::InvalidArgument, "prophet: prior scales must be > 0");
  }
  std::vector<double> times, ys;
  times.reserve(s.size());
  ys.reserve(s.size());
  double ymax = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::isnan(s[i])) continue;
    times.push_back(static_cast<double>(s.time_at(i)));
    ys.push_back(s[i]);
    ymax = std::max(ymax, std::abs(s[i]));
  }
  auto spec = make_feature_spec(times, static_cast<double>(s.step()), p.features);
  if (!spec.is_ok()) return spec.status();

  std::unique_ptr<FittedProphet> fm(
      new FittedProphet(s.time_at(s.size() - 1), s.step(), p.interval_width));
  fm->spec_ = std::move(spec.value());
  fm->logistic_ = logistic;
  fm->y_scale_ = ymax > 1e-12 ? ymax : 1.0;  // Prophet: absmax scaling
  const FeatureSpec& f = fm->spec_;
  const auto n = static_cast<Eigen::Index>(ys.size());
  const int p_cols = f.n_cols(), n_trend = f.n_trend_cols();
  Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(ys.data(), n) / fm->y_scale_;

  // Prior variances (Normal) or Laplace scale, per column.
  const double tau = p.changepoint_prior_scale;
  std::vector<double> prior_var(static_cast<size_t>(p_cols),
                                p.seasonality_prior_scale * p.seasonality_prior_scale);
  prior_var[0] = prior_var[1] = p.trend_prior_scale * p.trend_prior_scale;
  for (int j = 2; j < n_trend; ++j) prior_var[static_cast<size_t>(j)] = 2 * tau * tau;
  auto penalties = [&](double sigma2) {
    std::vector<Penalty> pen(static_cast<size_t>(p_cols));
    for (int j = 0; j < p_cols; ++j) {
      const bool cp = j >= 2 && j < n_trend;
      if (cp && prior == ChangepointPrior::Laplace) {
        pen[static_cast<size_t>(j)].l1 = sigma2 / tau;
      } else {
        pen[static_cast<size_t>(j)].l2 = sigma2 / prior_var[static_cast<size_t>(j)];
      }
    }
    return pen;
  };
  // Initial noise: the variance of scaled y (numpy's var, population form).
  double sigma2 = (y.array() - y.mean()).square().mean() + 1e-12;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(p_cols);

  if (!logistic) {
    Eigen::MatrixXd g;
    Eigen::VectorXd b;
    f.gram(times, y, g, b);
    const double yy = y.squaredNorm();
    for (int it = 0; it < p.sigma_iterations; ++it) {
      if (Status st = solve_penalized(g, b, penalties(sigma2), w, {}, &fm->info_); !st.is_ok())
        return st;
      // |y - Xw|^2 = y'y - 2 w'b + w'Gw: the residuals without a pass over X.
      const double rss = std::max(yy - 2 * w.dot(b) + w.dot(g * w), 0.0);
      sigma2 = std::max(rss / static_cast<double>(n), 1e-12);
    }
  } else {
    // Prophet's logistic_growth_init for k and m, then proximal Gauss-Newton
    // on [k, m, deltas | seasonal betas] with a numerical trend Jacobian.
    fm->cap_scaled_ = p.cap / fm->y_scale_;
    const double c = fm->cap_scaled_;
    const double y0 = std::clamp(y[0], 0.01 * c, 0.99 * c),
                 y1 = std::clamp(y[n - 1], 0.01 * c, 0.99 * c);
    double r0 = c / y0;
    const double r1 = c / y1;
    if (std::abs(r0 - r1) <= 0.01) r0 *= 1.05;
    const double l0 = std::log(r0 - 1), l1 = std::log(r1 - 1);
    fm->w_ = Eigen::VectorXd::Zero(p_cols);
    fm->w_[1] = l0 / (l0 - l1);  // m, with T = 1 in scaled time
    fm->w_[0] = l0 - l1;         // k
    const Eigen::MatrixXd x = f.matrix(times);
    Eigen::VectorXd sc(n), tscaled(n);
    for (Eigen::Index i = 0; i < n; ++i) tscaled[i] = f.scaled_time(times[static_cast<size_t>(i)]);
    auto trend_vec = [&](Eigen::VectorXd& out) {
      for (Eigen::Index i = 0; i < n; ++i) out[i] = fm->logistic_trend(tscaled[i]);
    };
    Eigen::MatrixXd design = x;  // trend columns replaced by the Jacobian each step
    Eigen::VectorXd gt(n), gp(n);
    for (int it = 0; it < 40; ++it) {
      const std::vector<Penalty> pen = penalties(sigma2);
      trend_vec(gt);
      const Eigen::VectorXd resid =
          y - gt - x.rightCols(p_cols - n_trend) * fm->w_.tail(p_cols - n_trend);
      const double obj0 = penalised_objective(resid, fm->w_, pen);
      for (int j = 0; j < n_trend; ++j) {
        const double h = 1e-6 * std::max(1.0, std::abs(fm->w_[j]));
        fm->w_[j] += h;
        trend_vec(gp);
        fm->w_[j] -= h;
        design.col(j) = (gp - gt) / h;
      }
      // Linearised target: y - g(theta) + J theta, so the solve returns theta'.
      const Eigen::VectorXd target = y - gt + design.leftCols(n_trend) * fm->w_.head(n_trend);
      Eigen::VectorXd wn = fm->w_;
      if (Status st = solve_penalized(gram_of(design), design.transpose() * target, pen, wn, {},
                                      &fm->info_);
          !st.is_ok()) {
        return st;
      }
      const Eigen::VectorXd w0 = fm->w_;
      double obj = obj0;
      for (double a = 1.0; a > 1e-4; a *= 0.5) {  // backtracking on the true objective
        fm->w_ = w0 + a * (wn - w0);
        trend_vec(gp);
        obj = penalised_objective(
            y - gp - x.rightCols(p_cols - n_trend) * fm->w_.tail(p_cols - n_trend), fm->w_, pen);
        if (obj < obj0) break;
      }
      if (!(obj < obj0)) fm->w_ = w0;
      trend_vec(gp);
      sigma2 = std::max(
          (y - gp - x.rightCols(p_cols - n_trend) * fm->w_.tail(p_cols - n_trend)).squaredNorm() /
              static_cast<double>(n),
          1e-12);
      if (!(obj < obj0) || obj0 - obj <= 1e-10 * obj0) break;
    }
    w = fm->w_;
  }
  if (!w.allFinite()) return Status(Code::Numerical, "prophet: non-finite coefficients");
  fm->w_ = w;
  fm->sigma_ = std::sqrt(sigma2);
  // Future trend uncertainty as in Prophet's sample_predictive_trend.
  const auto ncp = f.changepoints.size();
  fm->cp_rate_ = static_cast<double>(ncp);
  double lam = 0;
  for (size_t j = 0; j < ncp; ++j) lam += std::abs(w[static_cast<Eigen::Index>(2 + j)]);
  fm->cp_lambda_ = ncp ? lam / static_cast<double>(ncp) + 1e-8 : 0.0;
  return fm;
}

Result<std::unique_ptr<FittedModel>> ProphetModel::fit(const TimeSeries& s,
                                                       const ModelParams& p) const {
  auto r = fit_prophet(s, p, prior_);
  if (!r.is_ok()) return r.status();
  return std::unique_ptr<FittedModel>(std::move(r.value()));
}

}  // namespace forecast
