// Naive, seasonal naive and additive (damped) Holt-Winters. The recursion, initial state,
// parameter transform and Nelder-Mead copy tools/forecast-baselines.py operation for
// operation; error variances are Hyndman et al. (2008, "Forecasting with Exponential
// Smoothing", Table 6.1, class 1).
#include "forecast/baselines.h"
#include "forecast/series.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace forecast {
namespace {


// Standard deviation of the observed values (0 if fewer than two).
double value_sd(const std::vector<double>& y) {
  double s = 0, ss = 0;
  size_t n = 0;
  for (double v : y) {
    if (!std::isnan(v)) s += v, ss += v * v, ++n;
  }
  if (n < 2) return 0.0;
  const double m = s / static_cast<double>(n);
  return std::sqrt(std::max(ss / static_cast<double>(n) - m * m, 0.0));
}

// Random-walk error growth sd * sqrt(steps), capped at sqrt(2) * sd(y): the
// error of a value carried forward can not exceed the difference of two
// independent draws from the series (matters for long leads on stationary data).
double carried_spread(double step_sd, double k, double y_sd) {
  return std::min(step_sd * std::sqrt(k), std::sqrt(2.0) * y_sd);
}

// ---------------------------------------------------------------- naive
class FittedNaive : public FittedModel {
 public:
  FittedNaive(const TimeSeries& s, double width, double sd)
      : FittedModel(s.time_at(s.size() - 1), s.step(), width),
        sd_(sd),
        y_sd_(value_sd(s.values())) {
    (void)replay(s);
  }
  std::string_view name() const override { return "naive"; }
  void observe(double y) override {
    if (!std::isnan(y)) last_ = y;
    advance();
  }
  double point(int lead) const override { return lead >= 1 ? last_ : kNaN; }
  double spread(int lead) const override { return carried_spread(sd_, std::max(lead, 1), y_sd_); }
  Status replay(const TimeSeries& h) override {
    if (h.empty()) return Status(Code::NotEnoughData, "replay: empty history");
    last_ = kNaN;
    for (double v : h.values()) {
      if (!std::isnan(v)) last_ = v;
    }
    set_last_time(h.time_at(h.size() - 1));
    return Status::ok();
  }

 private:
  double last_ = kNaN;
  double sd_, y_sd_;
};

// ---------------------------------------------------------------- seasonal naive
class FittedSeasonalNaive : public FittedModel {
 public:
  static constexpr int kMaxK = 8;  // look back at most 8 seasons for an observed value
  FittedSeasonalNaive(const TimeSeries& s, size_t period, double width, double sd)
      : FittedModel(s.time_at(s.size() - 1), s.step(), width),
        period_(period),
        sd_(sd),
        y_sd_(value_sd(s.values())) {
    (void)replay(s);
  }
  std::string_view name() const override { return "seasonal-naive"; }
  void observe(double y) override {
    hist_.push_back(y);
    // Keep a bounded window: kMaxK seasons plus the longest lead served.
    const size_t keep = (kMaxK + 2) * period_;
    if (hist_.size() > 2 * keep) hist_.erase(hist_.begin(), hist_.end() - static_cast<long>(keep));
    advance();
  }
  double point(int lead) const override {
    if (lead < 1) return kNaN;
    const auto p = static_cast<long>(period_);
    const long target = static_cast<long>(hist_.size()) - 1 + lead;
    for (long k = std::max<long>(1, (lead + p - 1) / p); k <= kMaxK; ++k) {
      const long j = target - k * p;
      if (j < 0) return kNaN;
      if (!std::isnan(hist_[static_cast<size_t>(j)])) return hist_[static_cast<size_t>(j)];
    }
    return kNaN;
  }
  double spread(int lead) const override {
    const long p = static_cast<long>(period_);
    return carried_spread(sd_, static_cast<double>(std::max<long>(1, (lead + p - 1) / p)), y_sd_);
  }
  Status replay(const TimeSeries& h) override {
    if (h.empty()) return Status(Code::NotEnoughData, "replay: empty history");
    hist_ = h.values();
    set_last_time(h.time_at(h.size() - 1));
    return Status::ok();
  }

 private:
  size_t period_;
  double sd_, y_sd_;
  std::vector<double> hist_;
};

// ---------------------------------------------------------------- Holt-Winters
struct HwState {
  double level = 0, trend = 0;
  std::vector<double> season;  // indexed by (t - window start) mod m
};

// hw_init of the reference tool: level = mean of the first season, trend =
// (mean of the second season - level) / m, season = first season - level.
HwState hw_init(const double* y, size_t n, size_t m) {
  auto nanmean = [](const double* a, size_t k) {
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < k; ++i) {
      if (!std::isnan(a[i])) s += a[i], ++c;
    }
    return c ? s / static_cast<double>(c) : kNaN;
  };
  HwState st;
  st.level = nanmean(y, std::min(m, n));
  const double mb = n > m ? nanmean(y + m, std::min(m, n - m)) : kNaN;
  st.trend = std::isfinite(mb) ? (mb - st.level) / static_cast<double>(m) : 0.0;
  st.season.assign(m, 0.0);
  for (size_t i = 0; i < std::min(m, n); ++i)
    st.season[i] = std::isnan(y[i]) ? 0.0 : y[i] - st.level;
  return st;
}

// One step of the recursion at season phase ph (relative time mod m); returns
// the squared one-step error (NaN for a missing value). Expressions keep the
// reference's order of operations so the fitted parameters agree to the bit.
inline double hw_step(HwState& st, const HoltWintersParams& p, size_t ph, double v) {
  const double s = st.season[ph];
  const double f = st.level + p.phi * st.trend + s;
  double lnew, tnew, sq = kNaN;
  if (std::isnan(v)) {
    lnew = st.level + p.phi * st.trend;
    tnew = p.phi * st.trend;
  } else {
    const double e = v - f;
    sq = e * e;
    lnew = st.level + p.phi * st.trend + p.alpha * e;
    tnew = p.beta > 0 ? p.phi * st.trend + p.beta * (lnew - st.level - p.phi * st.trend)
                      : p.phi * st.trend;
    st.season[ph] = s + p.gamma * (v - st.level - p.phi * st.trend - s);
  }
  st.level = lnew;
  st.trend = tnew;
  return sq;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

HoltWintersParams unpack(const std::vector<double>& x, bool damped) {
  HoltWintersParams p;
  p.alpha = 0.001 + 0.998 * sigmoid(x[0]);
  p.beta = 0.999 * sigmoid(x[1]);
  p.gamma = 0.001 + 0.998 * (1 - p.alpha) * sigmoid(x[2]);
  p.phi = damped ? 0.80 + 0.18 * sigmoid(x[3]) : 1.0;
  return p;
}

class FittedHoltWinters : public FittedModel {
 public:
  FittedHoltWinters(std::string_view name, const TimeSeries& s, size_t window_start, size_t m,
                    HoltWintersParams p, double sigma, double width)
      : FittedModel(s.time_at(s.size() - 1), s.step(), width),
        name_(name),
        lo_(window_start),
        m_(m),
        p_(p),
        sigma_(sigma) {
    (void)replay(s);
  }
  std::string_view name() const override { return name_; }
  const HoltWintersParams& params() const { return p_; }

  void observe(double y) override {
    hw_step(st_, p_, t_++ % m_, y);
    advance();
  }
  double point(int lead) const override {
    if (lead < 1 || t_ == 0) return kNaN;
    double acc = 0, ph = 1;
    for (int i = 0; i < lead; ++i) ph *= p_.phi, acc += ph;
    // t_ counts processed steps: the last one had relative index t_ - 1.
    return st_.level + acc * st_.trend + st_.season[(t_ - 1 + static_cast<size_t>(lead)) % m_];
  }
  double spread(int lead) const override {
    // var_h = sigma^2 (1 + sum_{j<h} c_j^2), c_j = alpha (1 + beta sum_{i<=j} phi^i) + gamma [j % m
    // == 0]
    double var = 1.0, phsum = 0, ph = 1;
    for (int j = 1; j < lead; ++j) {
      ph *= p_.phi;
      phsum += ph;
      const double c =
          p_.alpha * (1.0 + p_.beta * phsum) + (j % static_cast<int>(m_) == 0 ? p_.gamma : 0.0);
      var += c * c;
    }
    return sigma_ * std::sqrt(var);
  }
  Status replay(const TimeSeries& h) override {
    if (h.size() <= lo_)
      return Status(Code::NotEnoughData, "replay: history ends before the window");
    const double* y = h.values().data() + lo_;
    const size_t n = h.size() - lo_;
    // The initial state always comes from the window's first two seasons.
    st_ = hw_init(y, n, m_);
    t_ = 0;
    for (size_t t = 0; t < n; ++t) hw_step(st_, p_, t_++ % m_, y[t]);
    set_last_time(h.time_at(h.size() - 1));
    return Status::ok();
  }

 protected:
  void add_components(int steps, std::vector<Component>& out) const override {
    Component level{"level", {}}, season{"seasonal", {}};
    double acc = 0, ph = 1;
    for (int i = 1; i <= steps; ++i) {
      ph *= p_.phi;
      acc += ph;
      level.values.push_back(st_.level + acc * st_.trend);
      season.values.push_back(st_.season[(t_ - 1 + static_cast<size_t>(i)) % m_]);
    }
    out.push_back(std::move(level));
    out.push_back(std::move(season));
  }

 private:
  std::string_view name_;  // the Model's name (a string literal)
  size_t lo_, m_;
  HoltWintersParams p_;
  double sigma_;
  HwState st_;
  size_t t_ = 0;
};

size_t season_of(const TimeSeries& s, const ModelParams& p, int days = 1) {
  return static_cast<size_t>(p.season_steps > 0 ? p.season_steps : days * s.steps_per_day());
}

}  // namespace

std::vector<double> nelder_mead(const std::function<double(const std::vector<double>&)>& f,
                                std::vector<double> x0, double step, int iters, double tol) {
  const size_t n = x0.size();
  std::vector<std::vector<double>> pts{x0};
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> x = x0;
    x[i] += step;
    pts.push_back(std::move(x));
  }
  std::vector<double> vals;
  for (const auto& p : pts) vals.push_back(f(p));
  auto along = [n](const std::vector<double>& a, const std::vector<double>& b, double k) {
    std::vector<double> r(n);  // a + k * (a - b), written as the reference does
    for (size_t i = 0; i < n; ++i) r[i] = a[i] + k * (a[i] - b[i]);
    return r;
  };
  for (int it = 0; it < iters; ++it) {
    std::vector<size_t> o(pts.size());
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return vals[a] < vals[b]; });
    std::vector<std::vector<double>> sp;
    std::vector<double> sv;
    for (size_t i : o) sp.push_back(pts[i]), sv.push_back(vals[i]);
    pts.swap(sp);
    vals.swap(sv);
    if (std::abs(vals.back() - vals.front()) <= tol * (std::abs(vals.front()) + 1e-12)) break;
    std::vector<double> c(n, 0.0);
    for (size_t k = 0; k + 1 < pts.size(); ++k) {
      for (size_t i = 0; i < n; ++i) c[i] += pts[k][i];
    }
    for (double& ci : c) ci /= static_cast<double>(n);
    const std::vector<double> xr = along(c, pts.back(), 1.0);
    const double fr = f(xr);
    if (fr < vals[0]) {
      const std::vector<double> xe = along(c, pts.back(), 2.0);
      const double fe = f(xe);
      if (fe < fr) {
        pts.back() = xe, vals.back() = fe;
      } else {
        pts.back() = xr, vals.back() = fr;
      }
    } else if (fr < vals[n - 1]) {
      pts.back() = xr, vals.back() = fr;
    } else {
      std::vector<double> xc(n);
      for (size_t i = 0; i < n; ++i) xc[i] = c[i] + 0.5 * (pts.back()[i] - c[i]);
      const double fc = f(xc);
      if (fc < vals.back()) {
        pts.back() = xc, vals.back() = fc;
      } else {
        for (size_t k = 1; k < pts.size(); ++k) {
          for (size_t i = 0; i < n; ++i) pts[k][i] = pts[0][i] + 0.5 * (pts[k][i] - pts[0][i]);
          vals[k] = f(pts[k]);
        }
      }
    }
  }
  return pts[static_cast<size_t>(std::min_element(vals.begin(), vals.end()) - vals.begin())];
}

Result<std::unique_ptr<FittedModel>> NaiveModel::fit(const TimeSeries& s,
                                                     const ModelParams& p) const {
  if (Status st = validate_fit_input(s, p, 1); !st.is_ok()) return st;
  return std::unique_ptr<FittedModel>(
      new FittedNaive(s, p.interval_width, lag_change_rms(s.values(), 1)));
}

Result<std::unique_ptr<FittedModel>> SeasonalNaiveModel::fit(const TimeSeries& s,
                                                             const ModelParams& p) const {
  if (Status st = validate_fit_input(s, p, 1); !st.is_ok()) return st;
  const size_t m = season_of(s, p, weekly_ ? 7 : 1);
  return std::unique_ptr<FittedModel>(
      new FittedSeasonalNaive(s, m, p.interval_width, lag_change_rms(s.values(), m)));
}

HoltWintersModel HoltWintersModel::with_fixed(const HoltWintersParams& p) {
  HoltWintersModel m(true);
  m.has_fixed_ = true;
  m.fixed_ = p;
  return m;
}

Result<std::unique_ptr<FittedModel>> HoltWintersModel::fit(const TimeSeries& s,
                                                           const ModelParams& p) const {
  if (Status st = validate_fit_input(s, p, 2); !st.is_ok()) return st;
  const size_t m = season_of(s, p);
  if (m < 2) return Status(Code::InvalidArgument, "holt-winters: season must be >= 2 steps");
  const size_t lo = p.fit_window_days > 0
                        ? s.size() - std::min(s.size(), static_cast<size_t>(p.fit_window_days) * m)
                        : 0;
  const size_t n = s.size() - lo;
  if (n < 2 * m) return Status(Code::NotEnoughData, "holt-winters: needs two seasons of data");
  const double* y = s.values().data() + lo;
  const HwState init = hw_init(y, n, m);
  if (!std::isfinite(init.level))
    return Status(Code::NotEnoughData, "holt-winters: first season is empty");

  // Mean squared one-step error over t in [m, n): the fitting objective.
  auto mse = [&](const HoltWintersParams& hp) {
    HwState st = init;
    double sse = 0;
    size_t cnt = 0;
    // The first season only warms the state up; the phase is counted, not
    // taken modulo m, in this hot loop.
    for (size_t t = 0, ph = 0; t < n; ++t) {
      const double sq = hw_step(st, hp, ph, y[t]);
      if (t >= m && !std::isnan(sq)) sse += sq, ++cnt;
      if (++ph == m) ph = 0;
    }
    return sse / static_cast<double>(std::max<size_t>(cnt, 1));
  };
  const bool damped = p.damped && !undamped_;
  HoltWintersParams hp = fixed_;
  if (!has_fixed_) {
    auto obj = [&](const std::vector<double>& x) {
      const double v = mse(unpack(x, damped));
      return std::isfinite(v) ? v : 1e300;
    };
    std::vector<double> x0{-1.0, -3.0, -2.0};
    if (damped) x0.push_back(1.0);
    std::vector<double> xb = nelder_mead(
        [&](const std::vector<double>& x) {
          if (damped) return obj(x);
          std::vector<double> x4 = x;
          x4.push_back(0.0);
          return obj(x4);
        },
        x0);
    if (!damped) xb.push_back(0.0);
    hp = unpack(xb, damped);
  }
  const double sigma = std::sqrt(mse(hp));
  if (!std::isfinite(sigma)) return Status(Code::Numerical, "holt-winters: non-finite fit");
  return std::unique_ptr<FittedModel>(
      new FittedHoltWinters(name(), s, lo, m, hp, sigma, p.interval_width));
}

const HoltWintersParams* holt_winters_params(const FittedModel& model) {
  const auto* hw = dynamic_cast<const FittedHoltWinters*>(&model);
  return hw ? &hw->params() : nullptr;
}

}  // namespace forecast
